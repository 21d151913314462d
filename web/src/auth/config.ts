// What the SPA signs in with: served by the API at /app/config.json (src/agentry/web).
export interface WebConfig {
  authority: string;
  client_id: string;
  scopes: string;
  api_url: string;
  dev_sign_in: boolean;
}

export async function loadConfig(fetchImpl: typeof fetch = fetch): Promise<WebConfig> {
  const response = await fetchImpl(`${import.meta.env.BASE_URL}config.json`, { cache: "no-store" });
  if (!response.ok) throw new Error(`config.json: HTTP ${response.status}`);
  const config = (await response.json()) as WebConfig;
  const override = import.meta.env.VITE_API_URL as string | undefined;
  return override ? { ...config, api_url: override } : config;
}

import { UserManager, WebStorageStateStore, type User } from "oidc-client-ts";
import type { WebConfig } from "./config";

// OIDC auth code + PKCE (oidc-client-ts). Tokens and sign-in state live in sessionStorage,
// never localStorage: they go with the tab.
export function createUserManager(config: WebConfig, origin = window.location.origin): UserManager {
  const base = `${origin}${import.meta.env.BASE_URL}`;
  return new UserManager({
    authority: config.authority,
    client_id: config.client_id,
    scope: config.scopes,
    redirect_uri: `${base}callback`,
    post_logout_redirect_uri: base,
    response_type: "code",
    userStore: new WebStorageStateStore({ store: window.sessionStorage }),
    stateStore: new WebStorageStateStore({ store: window.sessionStorage }),
    // Silent renewal with the refresh token (the dev provider rotates them; Entra issues them
    // to SPAs that ask for `offline_access`), shortly before the access token expires.
    automaticSilentRenew: true,
    accessTokenExpiringNotificationTimeInSeconds: 10,
    loadUserInfo: false,
  });
}

export function accessToken(user: User | null): string | null {
  if (!user || user.expired) return null;
  return user.access_token;
}

/** The signed-in person's display name from the access token (for display only: the API
 * validates the token; the app never trusts its claims for anything else). */
export function displayName(token: string): string | null {
  try {
    const payload = token.split(".")[1] ?? "";
    const json = atob(payload.replace(/-/g, "+").replace(/_/g, "/"));
    const claims = JSON.parse(new TextDecoder().decode(Uint8Array.from(json, (c) => c.charCodeAt(0)))) as {
      name?: unknown;
      preferred_username?: unknown;
    };
    const name = claims.name ?? claims.preferred_username;
    return typeof name === "string" ? name : null;
  } catch {
    return null;
  }
}

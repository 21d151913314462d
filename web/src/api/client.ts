import createClient, { type Middleware } from "openapi-fetch";
import type { paths } from "./schema";

export type Api = ReturnType<typeof createClient<paths>>;

// The typed client (generated from the API's OpenAPI document by `make web-api`); every call
// carries the signed-in user's access token.
export function createApi(baseUrl: string, token: () => string | null): Api {
  const client = createClient<paths>({ baseUrl });
  const auth: Middleware = {
    onRequest({ request }) {
      const t = token();
      if (t) request.headers.set("Authorization", `Bearer ${t}`);
      return request;
    },
  };
  client.use(auth);
  return client;
}

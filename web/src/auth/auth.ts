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
    // Entra: silent renewal runs when the token nears expiry (needs a refresh token or a
    // hidden-iframe session; the dev provider has neither, so its tokens last an hour).
    automaticSilentRenew: !config.dev_sign_in,
    loadUserInfo: false,
  });
}

export function accessToken(user: User | null): string | null {
  if (!user || user.expired) return null;
  return user.access_token;
}

import type { User, UserManager } from "oidc-client-ts";
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from "react";
import { createApi, type Api } from "../api/client";
import { problemFrom, toProblem, type Problem } from "../api/problem";
import type { components } from "../api/schema";
import { accessToken, createUserManager } from "./auth";
import { loadConfig, type WebConfig } from "./config";

export type Me = components["schemas"]["Me"];

type State =
  | { status: "loading" }
  | { status: "signed-out" }
  | { status: "signed-in"; user: User; me: Me }
  | { status: "blocked"; problem: Problem };

interface Auth {
  state: State;
  config: WebConfig | null;
  api: Api;
  token: () => string | null;
  signIn(): Promise<void>;
  signOut(): Promise<void>;
  /** An API answer said the tenant is suspended (or the token is no longer accepted). */
  report(problem: Problem): void;
}

const AuthContext = createContext<Auth | null>(null);

export function useAuth(): Auth {
  const auth = useContext(AuthContext);
  if (!auth) throw new Error("useAuth outside AuthProvider");
  return auth;
}

const BLOCKING = new Set(["tenant_suspended", "invalid_token", "tenant_not_onboarded"]);

export function AuthProvider({ children }: { children: ReactNode }) {
  const [config, setConfig] = useState<WebConfig | null>(null);
  const [manager, setManager] = useState<UserManager | null>(null);
  const [user, setUser] = useState<User | null>(null);
  const [state, setState] = useState<State>({ status: "loading" });

  // The newest token at call time: a silent renewal swaps it without re-creating the client
  // (pages keep their state and do not reload).
  const current = useRef<User | null>(null);
  current.current = user;
  const token = useCallback(() => accessToken(current.current), []);
  const api = useMemo(() => createApi(config?.api_url ?? "", token), [config, token]);

  const report = useCallback((problem: Problem) => {
    if (BLOCKING.has(problem.code)) setState({ status: "blocked", problem });
  }, []);

  const identify = useCallback(async (signedIn: User, baseUrl: string) => {
    const response = await fetch(`${baseUrl}/v1/me`, {
      headers: { Authorization: `Bearer ${signedIn.access_token}` },
    });
    if (!response.ok) {
      setState({ status: "blocked", problem: await problemFrom(response) });
      return;
    }
    setState({ status: "signed-in", user: signedIn, me: (await response.json()) as Me });
  }, []);

  useEffect(() => {
    let cancelled = false;
    (async () => {
      const loaded = await loadConfig();
      const um = createUserManager(loaded);
      if (cancelled) return;
      setConfig(loaded);
      setManager(um);
      um.events.addUserLoaded((u) => {
        current.current = u; // renewed: calls made before the re-render use it already
        setUser(u);
      });
      // Renewal failed (session ended at the provider, refresh token refused): sign out here too.
      um.events.addAccessTokenExpired(() => void um.removeUser());
      um.events.addUserUnloaded(() => {
        setUser(null);
        setState({ status: "signed-out" });
      });
      let signedIn: User | null = null;
      if (window.location.pathname.endsWith("/callback")) {
        signedIn = await um.signinRedirectCallback();
        const back = (signedIn.state as string | undefined) ?? import.meta.env.BASE_URL;
        window.history.replaceState(null, "", back);
      } else {
        signedIn = await um.getUser();
        // Expired while the tab slept: one silent renewal with the refresh token, if any.
        if (signedIn?.expired) signedIn = signedIn.refresh_token ? await um.signinSilent().catch(() => null) : null;
      }
      if (cancelled) return;
      setUser(signedIn);
      if (!signedIn) setState({ status: "signed-out" });
      else await identify(signedIn, loaded.api_url);
    })().catch((error: unknown) => {
      if (!cancelled) setState({ status: "blocked", problem: toProblem(error) });
    });
    return () => {
      cancelled = true;
    };
  }, [identify]);

  const signIn = useCallback(async () => {
    const back = window.location.pathname.endsWith("/callback")
      ? import.meta.env.BASE_URL
      : window.location.pathname + window.location.search;
    await manager?.signinRedirect({ state: back });
  }, [manager]);

  const signOut = useCallback(async () => {
    if (!manager) return;
    const metadata = await manager.metadataService.getMetadata().catch(() => null);
    if (metadata?.end_session_endpoint) {
      // Removes the tokens here, then ends the session at the provider, which comes back to
      // the app signed out.
      await manager.signoutRedirect();
      return;
    }
    await manager.removeUser();
    setUser(null);
    setState({ status: "signed-out" });
  }, [manager]);

  const value = useMemo(
    () => ({ state, config, api, token, signIn, signOut, report }),
    [state, config, api, token, signIn, signOut, report],
  );
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

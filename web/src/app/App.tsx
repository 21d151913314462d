import { lazy, Suspense } from "react";
import { BrowserRouter, NavLink, Route, Routes } from "react-router";
import { AgentsPage } from "../agents/AgentsPage";
import { displayName } from "../auth/auth";
import { useAuth } from "../auth/AuthProvider";
import { InvokePage } from "../invoke/InvokePage";
import { JobDetailPage, JobsPage } from "../jobs/JobsPage";
import { WebhooksPage } from "../webhooks/WebhooksPage";
import { KeysPage } from "../keys/KeysPage";
import { MembersPage } from "../members/MembersPage";
import { OperatorNav, OpsRoutes } from "../ops/OpsRoutes";
import { ErrorView, Loading } from "../ui/ErrorView";

// Loaded on first visit: the chart and table code stays out of the first download.
const UsagePage = lazy(() => import("../usage/UsagePage").then((m) => ({ default: m.UsagePage })));
const AuditPage = lazy(() => import("../audit/AuditPage").then((m) => ({ default: m.AuditPage })));
const MarketplacePage = lazy(() =>
  import("../marketplace/MarketplacePage").then((m) => ({ default: m.MarketplacePage })),
);

export function App() {
  const { state } = useAuth();
  if (state.status === "loading") return <Loading what="Agentry" />;
  if (state.status === "signed-out") return <SignIn />;
  if (state.status === "blocked") return <Blocked />;
  const admin = state.me.role === "admin" || state.me.role === "operator";
  return (
    <BrowserRouter basename={import.meta.env.BASE_URL.replace(/\/$/, "")}>
      <a href="#main" className="skip">
        Skip to content
      </a>
      <header className="top">
        <span className="brand">Agentry</span>
        <nav aria-label="Main">
          <NavLink to="/">Agents</NavLink>
          <NavLink to="/invoke">Invoke</NavLink>
          <NavLink to="/jobs">Jobs</NavLink>
          {admin && <NavLink to="/keys">API keys</NavLink>}
          {admin && <NavLink to="/members">Members</NavLink>}
          {admin && <NavLink to="/webhooks">Webhooks</NavLink>}
          <NavLink to="/marketplace">Marketplace</NavLink>
          {admin && <NavLink to="/usage">Usage</NavLink>}
          {admin && <NavLink to="/audit">Audit log</NavLink>}
          {state.me.role === "operator" && <OperatorNav />}
        </nav>
        <UserMenu />
      </header>
      <main id="main" tabIndex={-1}>
        <Routes>
          <Route path="/" element={<AgentsPage />} />
          <Route path="/callback" element={<AgentsPage />} />
          <Route path="/invoke" element={<InvokePage />} />
          <Route path="/invoke/:agent" element={<InvokePage />} />
          <Route path="/jobs" element={<JobsPage />} />
          <Route path="/jobs/:jobId" element={<JobDetailPage />} />
          <Route path="/keys" element={<KeysPage />} />
          <Route path="/webhooks" element={<WebhooksPage />} />
          <Route path="/members" element={<MembersPage />} />
          <Route path="/marketplace" element={<Suspense fallback={<Loading what="the page" />}><MarketplacePage /></Suspense>} />
          <Route path="/usage" element={<Suspense fallback={<Loading what="the page" />}><UsagePage /></Suspense>} />
          <Route path="/audit" element={<Suspense fallback={<Loading what="the page" />}><AuditPage /></Suspense>} />
          <Route path="/ops/*" element={<OpsRoutes />} />
          <Route path="*" element={<p>Nothing here.</p>} />
        </Routes>
      </main>
    </BrowserRouter>
  );
}

function UserMenu() {
  const { state, signOut } = useAuth();
  if (state.status !== "signed-in") return null;
  return (
    <div className="user">
      <span data-testid="whoami">
        {state.user.profile.name ?? displayName(state.user.access_token) ?? state.me.subject} · {state.me.tenant_slug} ({state.me.tier}) · {state.me.role}
      </span>
      <button type="button" onClick={() => void signOut()}>
        Sign out
      </button>
    </div>
  );
}

function SignIn() {
  const { signIn, config } = useAuth();
  return (
    <main id="main" className="center">
      <h1>Agentry</h1>
      <p>Invoke your organisation's agents, and manage its keys.</p>
      <button type="button" className="primary" onClick={() => void signIn()}>
        Sign in{config?.dev_sign_in ? " (development identity provider)" : " with Microsoft Entra ID"}
      </button>
    </main>
  );
}

// An unknown or suspended tenant: say which, with the API's own words.
const BLOCKED: Record<string, { id: string; title: string; text: string }> = {
  tenant_suspended: {
    id: "suspended",
    title: "Your organisation's access is suspended",
    text: "Every credential of your tenant is paused. Contact the platform operators to reactivate it.",
  },
  tenant_not_onboarded: {
    id: "unknown-tenant",
    title: "Your organisation is not on Agentry",
    text: "You signed in, but your directory is not onboarded as a tenant. Ask the platform operators to onboard it, or sign in with an account of an onboarded organisation.",
  },
};

function Blocked() {
  const { state, signOut } = useAuth();
  if (state.status !== "blocked") return null;
  const known = BLOCKED[state.problem.code] ?? {
    id: "blocked",
    title: "You cannot use Agentry yet",
    text: "Your sign-in worked, but the platform does not accept it for this tenant.",
  };
  return (
    <main id="main" className="center" data-testid={known.id}>
      <h1>{known.title}</h1>
      <p>{known.text}</p>
      <ErrorView problem={state.problem} />
      <button type="button" onClick={() => void signOut()}>
        Sign out
      </button>
    </main>
  );
}

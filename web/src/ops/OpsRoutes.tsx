import { NavLink, Route, Routes } from "react-router";
import { DeadLettersPage } from "./DeadLettersPage";
import { TenantsPage } from "./TenantsPage";
import { ToolsPage } from "./ToolsPage";

// The operator console under /ops. The nav is shown to operators only; the pages still ask the
// API, which decides (a tenant user who types the URL gets its 403 as a forbidden view).
export function OperatorNav() {
  return (
    <>
      <NavLink to="/ops/tenants">Tenants</NavLink>
      <NavLink to="/ops/tools">Tool grants</NavLink>
      <NavLink to="/ops/dead-letters">Dead letters</NavLink>
    </>
  );
}

export function OpsRoutes() {
  return (
    <Routes>
      <Route path="tenants" element={<TenantsPage />} />
      <Route path="tools" element={<ToolsPage />} />
      <Route path="dead-letters" element={<DeadLettersPage />} />
      <Route path="*" element={<p>Nothing here.</p>} />
    </Routes>
  );
}

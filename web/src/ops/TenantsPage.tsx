import { useId, useState, type FormEvent } from "react";
import type { components } from "../api/schema";
import { useAuth } from "../auth/AuthProvider";
import { ErrorView } from "../ui/ErrorView";
import { ListTable } from "../ui/ListTable";
import { SecretOnce } from "../ui/SecretOnce";
import { useFailure } from "../ui/useFailure";
import { useQuery } from "../ui/useQuery";
import { LoadProblem } from "./Forbidden";

type Tier = NonNullable<components["schemas"]["TenantOnboard"]["tier"]>;
type Onboarded = components["schemas"]["TenantOnboarded"];
const TIERS: Tier[] = ["basic", "standard", "premium"];

// Operator: every tenant; onboard one (its first admin key shown once), change its tier,
// suspend and reactivate it.
export function TenantsPage() {
  const { api } = useAuth();
  const tenants = useQuery(() => api.GET("/v1/admin/tenants"));
  const [slug, setSlug] = useState("");
  const [name, setName] = useState("");
  const [tier, setTier] = useState<Tier>("basic");
  const [directories, setDirectories] = useState("");
  const [created, setCreated] = useState<Onboarded | null>(null);
  const { problem, failed, clear } = useFailure();
  const [done, setDone] = useState("");
  const ids = { slug: useId(), name: useId(), tier: useId(), dirs: useId() };

  async function onboard(event: FormEvent) {
    event.preventDefault();
    clear();
    const entra_tenant_ids = directories
      .split(/[\s,]+/)
      .map((d) => d.trim())
      .filter(Boolean);
    const { data, error, response } = await api.POST("/v1/admin/tenants", {
      body: { slug, name, tier, entra_tenant_ids },
    });
    if (error !== undefined || !data) return failed(error, response.status);
    setCreated(data);
    setSlug("");
    setName("");
    setDirectories("");
    await tenants.reload();
  }

  async function changeTier(id: string, who: string, next: Tier) {
    clear();
    const { error, response } = await api.PATCH("/v1/admin/tenants/{tenant_id}", {
      params: { path: { tenant_id: id } },
      body: { tier: next },
    });
    if (error !== undefined) return failed(error, response.status);
    setDone(`${who} is now on the ${next} tier.`);
    await tenants.reload();
  }

  async function setStatus(id: string, who: string, action: "suspend" | "reactivate") {
    if (action === "suspend" && !window.confirm(`Suspend ${who}? Every credential of the tenant stops working.`)) return;
    clear();
    const path = action === "suspend" ? "/v1/admin/tenants/{tenant_id}/suspend" : "/v1/admin/tenants/{tenant_id}/reactivate";
    const { error, response } = await api.POST(path, { params: { path: { tenant_id: id } } });
    if (error !== undefined) return failed(error, response.status);
    setDone(`${who} is ${action === "suspend" ? "suspended" : "active again"}.`);
    await tenants.reload();
  }

  return (
    <section aria-labelledby="tenants-h">
      <h1 id="tenants-h">Tenants</h1>
      <LoadProblem problem={tenants.problem} />
      {tenants.problem?.status !== 403 && (
        <form onSubmit={onboard} className="stack" aria-label="Onboard a tenant">
          <h2>Onboard a tenant</h2>
          <label htmlFor={ids.slug}>Slug</label>
          <input id={ids.slug} required pattern="[a-z][a-z0-9\-]{1,62}" value={slug} onChange={(e) => setSlug(e.target.value)} />
          <label htmlFor={ids.name}>Display name</label>
          <input id={ids.name} required maxLength={200} value={name} onChange={(e) => setName(e.target.value)} />
          <label htmlFor={ids.tier}>Tier</label>
          <select id={ids.tier} value={tier} onChange={(e) => setTier(e.target.value as Tier)}>
            {TIERS.map((t) => (
              <option key={t}>{t}</option>
            ))}
          </select>
          <label htmlFor={ids.dirs}>Entra tenant ids (comma separated, optional)</label>
          <input id={ids.dirs} value={directories} onChange={(e) => setDirectories(e.target.value)} />
          <div>
            <button type="submit">Onboard</button>
          </div>
        </form>
      )}
      {created && (
        <SecretOnce
          label="New tenant admin key"
          secret={created.admin_key}
          testId="new-tenant-key"
          onDone={() => setCreated(null)}
        >
          The first admin key of <strong>{created.slug}</strong>.
        </SecretOnce>
      )}
      {problem && <ErrorView problem={problem} />}
      <p role="status" aria-live="polite" data-testid="tenants-status">
        {done}
      </p>
      <ListTable
        items={tenants.data?.items}
        loading={tenants.loading}
        what="tenants"
        empty={"No tenants yet."}
        caption="Tenants"
        columns={["Slug", "Name", "Tier", "Status", "Entra tenant ids", "Actions"]}
        row={(t) => (
          <tr key={t.id} data-tenant={t.slug}>
            <td>{t.slug}</td>
            <td>{t.display_name}</td>
            <td>
              <select aria-label={`Tier of ${t.slug}`} value={t.tier} onChange={(e) => void changeTier(t.id, t.slug, e.target.value as Tier)}>
                {TIERS.map((x) => (
                  <option key={x}>{x}</option>
                ))}
              </select>
            </td>
            <td data-testid="tenant-status">{t.status}</td>
            <td className="muted">{t.entra_tenant_ids.join(", ") || "none"}</td>
            <td>
              {t.status === "suspended" ? (
                <button type="button" aria-label={`Reactivate ${t.slug}`} onClick={() => void setStatus(t.id, t.slug, "reactivate")}>
                  Reactivate
                </button>
              ) : (
                <button type="button" aria-label={`Suspend ${t.slug}`} onClick={() => void setStatus(t.id, t.slug, "suspend")}>
                  Suspend
                </button>
              )}
            </td>
          </tr>
        )}
      />
    </section>
  );
}

import { useState } from "react";
import { toProblem, type Problem } from "../api/problem";
import { useAuth } from "../auth/AuthProvider";
import { Empty, ErrorView, Loading } from "../ui/ErrorView";
import { useQuery } from "../ui/useQuery";
import { LoadProblem } from "./Forbidden";

const TIERS = ["basic", "standard", "premium"];

// Operator: which tiers may call each gateway tool. A tick grants, clearing it revokes; the
// gateway applies it without a restart and the change is audited.
export function ToolsPage() {
  const { api, report } = useAuth();
  const tools = useQuery(() => api.GET("/v1/admin/tools"));
  const [problem, setProblem] = useState<Problem | null>(null);
  const [done, setDone] = useState("");

  async function toggle(tool: string, tiers: string[], tier: string, on: boolean) {
    setProblem(null);
    const next = on ? [...new Set([...tiers, tier])] : tiers.filter((t) => t !== tier);
    const { error, response } = await api.PUT("/v1/admin/tools/{tool}", {
      params: { path: { tool } },
      body: { tiers: next },
    });
    if (error !== undefined) {
      const p = toProblem(error, response.status);
      setProblem(p);
      report(p);
      return;
    }
    setDone(`${tool}: ${on ? "granted to" : "revoked from"} ${tier}.`);
    await tools.reload();
  }

  return (
    <section aria-labelledby="tools-h">
      <h1 id="tools-h">Tool grants</h1>
      <p className="muted">The tiers whose tenants' agents may call each tool through the gateway.</p>
      <LoadProblem problem={tools.problem} />
      {problem && <ErrorView problem={problem} />}
      <p role="status" aria-live="polite" data-testid="tools-status">
        {done}
      </p>
      {tools.loading && !tools.data && <Loading what="tools" />}
      {tools.data && tools.data.length === 0 && <Empty>No tools in the catalogue.</Empty>}
      {tools.data && tools.data.length > 0 && (
        <table>
          <caption className="sr-only">Tools and the tiers granted them</caption>
          <thead>
            <tr>
              <th scope="col">Tool</th>
              <th scope="col">Description</th>
              {TIERS.map((t) => (
                <th scope="col" key={t}>
                  {t}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {tools.data.map((tool) => (
              <tr key={tool.name} data-tool={tool.name}>
                <td>
                  <code>{tool.name}</code>
                </td>
                <td>{tool.description}</td>
                {TIERS.map((tier) => (
                  <td key={tier}>
                    <input
                      type="checkbox"
                      aria-label={`${tier} may call ${tool.name}`}
                      checked={tool.tiers.includes(tier)}
                      onChange={(e) => void toggle(tool.name, tool.tiers, tier, e.target.checked)}
                    />
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

import { useState } from "react";
import { toProblem, type Problem } from "../api/problem";
import { useAuth } from "../auth/AuthProvider";
import { Empty, ErrorView, Loading } from "../ui/ErrorView";
import { useQuery } from "../ui/useQuery";
import { LoadProblem } from "./Forbidden";

// Operator: webhook deliveries that failed every attempt, of every tenant; replay one (it is
// sent again with the same webhook-id, so receivers can de-duplicate).
export function DeadLettersPage() {
  const { api, report } = useAuth();
  const dead = useQuery(() => api.GET("/v1/admin/webhooks/dead-letters"));
  const [problem, setProblem] = useState<Problem | null>(null);
  const [done, setDone] = useState("");

  async function replay(id: string) {
    setProblem(null);
    const { error, response } = await api.POST("/v1/admin/webhooks/dead-letters/{delivery_id}/replay", {
      params: { path: { delivery_id: id } },
    });
    if (error !== undefined) {
      const p = toProblem(error, response.status);
      setProblem(p);
      report(p);
      return;
    }
    setDone(`Delivery ${id} is queued again.`);
    await dead.reload();
  }

  return (
    <section aria-labelledby="dead-h">
      <h1 id="dead-h">Webhook dead letters</h1>
      <div className="row">
        <button type="button" onClick={() => void dead.reload()}>
          Refresh
        </button>
      </div>
      <LoadProblem problem={dead.problem} />
      {problem && <ErrorView problem={problem} />}
      <p role="status" aria-live="polite" data-testid="dead-status">
        {done}
      </p>
      {dead.loading && !dead.data && <Loading what="dead letters" />}
      {dead.data && dead.data.items.length === 0 && <Empty>No dead letters.</Empty>}
      {dead.data && dead.data.items.length > 0 && (
        <table>
          <caption className="sr-only">Dead-lettered webhook deliveries</caption>
          <thead>
            <tr>
              <th scope="col">Tenant</th>
              <th scope="col">Event</th>
              <th scope="col">URL</th>
              <th scope="col">Attempts</th>
              <th scope="col">Last error</th>
              <th scope="col">Created</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {dead.data.items.map((d) => (
              <tr key={d.id} data-delivery={d.id}>
                <td>
                  <code>{d.tenant_id}</code>
                </td>
                <td>{d.event_type}</td>
                <td className="muted">{d.url}</td>
                <td>{d.attempts}</td>
                <td>{[d.last_status_code ? `HTTP ${d.last_status_code}` : "", d.last_error ?? ""].filter(Boolean).join(" · ") || "—"}</td>
                <td>{new Date(d.created_at).toLocaleString()}</td>
                <td>
                  <button type="button" aria-label={`Replay ${d.id}`} onClick={() => void replay(d.id)}>
                    Replay
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

import { useState } from "react";
import { useAuth } from "../auth/AuthProvider";
import { ErrorView } from "../ui/ErrorView";
import { ListTable } from "../ui/ListTable";
import { useFailure } from "../ui/useFailure";
import { useQuery } from "../ui/useQuery";
import { LoadProblem } from "./Forbidden";

// Operator: webhook deliveries that failed every attempt, of every tenant; replay one (it is
// sent again with the same webhook-id, so receivers can de-duplicate).
export function DeadLettersPage() {
  const { api } = useAuth();
  const dead = useQuery(() => api.GET("/v1/admin/webhooks/dead-letters"));
  const { problem, failed, clear } = useFailure();
  const [done, setDone] = useState("");

  async function replay(id: string) {
    clear();
    const { error, response } = await api.POST("/v1/admin/webhooks/dead-letters/{delivery_id}/replay", {
      params: { path: { delivery_id: id } },
    });
    if (error !== undefined) return failed(error, response.status);
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
      <ListTable
        items={dead.data?.items}
        loading={dead.loading}
        what="dead letters"
        empty={"No dead letters."}
        caption="Dead-lettered webhook deliveries"
        columns={["Tenant", "Event", "URL", "Attempts", "Last error", "Created", "Actions"]}
        row={(d) => (
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
        )}
      />
    </section>
  );
}

import { useId, useState, type FormEvent } from "react";
import type { components } from "../api/schema";
import { useAuth } from "../auth/AuthProvider";
import { ErrorView } from "../ui/ErrorView";
import { ListTable } from "../ui/ListTable";
import { SecretOnce } from "../ui/SecretOnce";
import { useFailure } from "../ui/useFailure";
import { useQuery } from "../ui/useQuery";

type Created = components["schemas"]["EndpointCreated"];

// The tenant's webhook endpoints: create (the signing secret is shown once), send a test
// delivery, and each endpoint's delivery log.
export function WebhooksPage() {
  const { api } = useAuth();
  const endpoints = useQuery(() => api.GET("/v1/webhooks"));
  const [url, setUrl] = useState("");
  const [description, setDescription] = useState("");
  const [created, setCreated] = useState<Created | null>(null);
  const [open, setOpen] = useState<string | null>(null);
  const { problem, failed, clear } = useFailure();
  const urlId = useId();
  const descId = useId();

  async function create(event: FormEvent) {
    event.preventDefault();
    clear();
    const { data, error, response } = await api.POST("/v1/webhooks", { body: { url, description } });
    if (error !== undefined || !data) return failed(error, response.status);
    setCreated(data);
    setUrl("");
    setDescription("");
    await endpoints.reload();
  }

  return (
    <section aria-labelledby="hooks-h">
      <h1 id="hooks-h">Webhooks</h1>
      <form onSubmit={create} className="row">
        <label htmlFor={urlId}>Endpoint URL</label>
        <input id={urlId} type="url" value={url} required onChange={(e) => setUrl(e.target.value)} />
        <label htmlFor={descId}>Description</label>
        <input id={descId} value={description} maxLength={200} onChange={(e) => setDescription(e.target.value)} />
        <button type="submit">Add endpoint</button>
      </form>
      {created && (
        <SecretOnce
          label="New endpoint secret"
          secret={created.secret}
          testId="new-webhook-secret"
          onDone={() => setCreated(null)}
        >
          The signing secret of <strong>{created.url}</strong>.
        </SecretOnce>
      )}
      {problem && <ErrorView problem={problem} />}
      {endpoints.problem && <ErrorView problem={endpoints.problem} />}
      <ListTable
        items={endpoints.data?.items}
        loading={endpoints.loading}
        what="endpoints"
        empty={"No webhook endpoints yet."}
        caption="Webhook endpoints"
        columns={["URL", "Description", "Status", "Actions"]}
        row={(e) => (
          <tr key={e.id} data-endpoint-id={e.id}>
            <td>
              <code>{e.url}</code>
            </td>
            <td>{e.description}</td>
            <td>{e.status}</td>
            <td>
              <button type="button" aria-label={`${open === e.id ? "Hide deliveries" : "Deliveries"} of ${e.url}`} onClick={() => setOpen(open === e.id ? null : e.id)}>
                {open === e.id ? "Hide deliveries" : "Deliveries"}
              </button>
            </td>
          </tr>
        )}
      />
      {open && <Deliveries key={open} endpointId={open} onProblem={failed} />}
    </section>
  );
}

function Deliveries({ endpointId, onProblem }: { endpointId: string; onProblem: (e: unknown, s: number) => void }) {
  const { api } = useAuth();
  const deliveries = useQuery(() =>
    api.GET("/v1/webhooks/{endpoint_id}/deliveries", { params: { path: { endpoint_id: endpointId }, query: { limit: 50 } } }),
  );

  async function sendTest() {
    const { error, response } = await api.POST("/v1/webhooks/{endpoint_id}/test", {
      params: { path: { endpoint_id: endpointId } },
    });
    if (error !== undefined) return onProblem(error, response.status);
    await deliveries.reload();
  }

  return (
    <section aria-labelledby="deliveries-h">
      <h2 id="deliveries-h">Delivery log</h2>
      <div className="row">
        <button type="button" onClick={() => void sendTest()}>
          Send test delivery
        </button>
        <button type="button" onClick={() => void deliveries.reload()}>
          Refresh
        </button>
      </div>
      {deliveries.problem && <ErrorView problem={deliveries.problem} />}
      <ListTable
        items={deliveries.data?.items}
        loading={deliveries.loading}
        what="deliveries"
        empty={"No deliveries yet."}
        caption="Deliveries"
        columns={["Event", "Status", "Attempts", "Last answer", "Created"]}
        testId="deliveries"
        row={(d) => (
          <tr key={d.id} data-delivery-id={d.id}>
            <td>{d.event_type}</td>
            <td>{d.status}</td>
            <td>{d.attempts}</td>
            <td>
              {d.last_status_code ?? "—"}
              {d.last_latency_ms !== null ? ` in ${d.last_latency_ms} ms` : ""}
              {d.last_error ? ` (${d.last_error})` : ""}
            </td>
            <td>{d.created_at}</td>
          </tr>
        )}
      />
    </section>
  );
}

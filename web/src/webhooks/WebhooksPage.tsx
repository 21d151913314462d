import { useId, useState, type FormEvent } from "react";
import { toProblem, type Problem } from "../api/problem";
import type { components } from "../api/schema";
import { useAuth } from "../auth/AuthProvider";
import { Empty, ErrorView, Loading } from "../ui/ErrorView";
import { useQuery } from "../ui/useQuery";

type Created = components["schemas"]["EndpointCreated"];

// The tenant's webhook endpoints: create (the signing secret is shown once), send a test
// delivery, and each endpoint's delivery log.
export function WebhooksPage() {
  const { api, report } = useAuth();
  const endpoints = useQuery(() => api.GET("/v1/webhooks"));
  const [url, setUrl] = useState("");
  const [description, setDescription] = useState("");
  const [created, setCreated] = useState<Created | null>(null);
  const [copied, setCopied] = useState(false);
  const [open, setOpen] = useState<string | null>(null);
  const [problem, setProblem] = useState<Problem | null>(null);
  const urlId = useId();
  const descId = useId();

  function failed(error: unknown, status: number) {
    const p = toProblem(error, status);
    setProblem(p);
    report(p);
  }

  async function create(event: FormEvent) {
    event.preventDefault();
    setProblem(null);
    const { data, error, response } = await api.POST("/v1/webhooks", { body: { url, description } });
    if (error !== undefined || !data) return failed(error, response.status);
    setCreated(data);
    setCopied(false);
    setUrl("");
    setDescription("");
    await endpoints.reload();
  }

  async function copy(secret: string) {
    await navigator.clipboard.writeText(secret);
    setCopied(true);
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
        <div className="secret" role="region" aria-label="New endpoint secret">
          <p>
            The signing secret of <strong>{created.url}</strong>. It is shown this once; copy it now.
          </p>
          <code data-testid="new-webhook-secret">{created.secret}</code>{" "}
          <button type="button" onClick={() => void copy(created.secret)}>
            {copied ? "Copied" : "Copy"}
          </button>
          <button type="button" onClick={() => setCreated(null)}>
            Done
          </button>
        </div>
      )}
      {problem && <ErrorView problem={problem} />}
      {endpoints.problem && <ErrorView problem={endpoints.problem} />}
      {endpoints.loading && !endpoints.data && <Loading what="endpoints" />}
      {endpoints.data && endpoints.data.items.length === 0 && <Empty>No webhook endpoints yet.</Empty>}
      {endpoints.data && endpoints.data.items.length > 0 && (
        <table>
          <caption className="sr-only">Webhook endpoints</caption>
          <thead>
            <tr>
              <th scope="col">URL</th>
              <th scope="col">Description</th>
              <th scope="col">Status</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {endpoints.data.items.map((e) => (
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
            ))}
          </tbody>
        </table>
      )}
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
      {deliveries.loading && !deliveries.data && <Loading what="deliveries" />}
      {deliveries.data && deliveries.data.items.length === 0 && <Empty>No deliveries yet.</Empty>}
      {deliveries.data && deliveries.data.items.length > 0 && (
        <table data-testid="deliveries">
          <caption className="sr-only">Deliveries</caption>
          <thead>
            <tr>
              <th scope="col">Event</th>
              <th scope="col">Status</th>
              <th scope="col">Attempts</th>
              <th scope="col">Last answer</th>
              <th scope="col">Created</th>
            </tr>
          </thead>
          <tbody>
            {deliveries.data.items.map((d) => (
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
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

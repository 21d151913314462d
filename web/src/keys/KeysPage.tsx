import { useId, useState, type FormEvent } from "react";
import { toProblem, type Problem } from "../api/problem";
import type { components } from "../api/schema";
import { useAuth } from "../auth/AuthProvider";
import { Empty, ErrorView, Loading } from "../ui/ErrorView";
import { useQuery } from "../ui/useQuery";

type Created = components["schemas"]["ApiKeyCreated"];

// The tenant's API keys: create (the secret is shown once), rotate with an overlap, revoke.
export function KeysPage() {
  const { api, report } = useAuth();
  const keys = useQuery(() => api.GET("/v1/api-keys"));
  const [name, setName] = useState("");
  const [created, setCreated] = useState<Created | null>(null);
  const [copied, setCopied] = useState(false);
  const [problem, setProblem] = useState<Problem | null>(null);
  const nameId = useId();

  function failed(error: unknown, status: number) {
    const p = toProblem(error, status);
    setProblem(p);
    report(p);
  }

  async function create(event: FormEvent) {
    event.preventDefault();
    setProblem(null);
    const { data, error, response } = await api.POST("/v1/api-keys", { body: { name } });
    if (error !== undefined || !data) return failed(error, response.status);
    setCreated(data);
    setCopied(false);
    setName("");
    await keys.reload();
  }

  async function rotate(id: string) {
    setProblem(null);
    const { data, error, response } = await api.POST("/v1/api-keys/{key_id}/rotate", {
      params: { path: { key_id: id } },
      body: { old_key_expires_in_s: 3600 },
    });
    if (error !== undefined || !data) return failed(error, response.status);
    setCreated(data);
    setCopied(false);
    await keys.reload();
  }

  async function revoke(id: string, keyName: string) {
    if (!window.confirm(`Revoke the key "${keyName}"? Callers using it stop working at once.`)) return;
    setProblem(null);
    const { error, response } = await api.DELETE("/v1/api-keys/{key_id}", {
      params: { path: { key_id: id } },
    });
    if (error !== undefined) return failed(error, response.status);
    await keys.reload();
  }

  async function copy(secret: string) {
    await navigator.clipboard.writeText(secret);
    setCopied(true);
  }

  return (
    <section aria-labelledby="keys-h">
      <h1 id="keys-h">API keys</h1>
      <form onSubmit={create} className="row">
        <label htmlFor={nameId}>New key name</label>
        <input id={nameId} value={name} required maxLength={100} onChange={(e) => setName(e.target.value)} />
        <button type="submit">Create key</button>
      </form>
      {created && (
        <div className="secret" role="region" aria-label="New key secret">
          <p>
            The secret of <strong>{created.name}</strong>. It is shown this once; copy it now.
          </p>
          <code data-testid="new-secret">{created.secret}</code>{" "}
          <button type="button" onClick={() => copy(created.secret)}>
            {copied ? "Copied" : "Copy"}
          </button>
          <button type="button" onClick={() => setCreated(null)}>
            Done
          </button>
        </div>
      )}
      {problem && <ErrorView problem={problem} />}
      {keys.problem && <ErrorView problem={keys.problem} />}
      {keys.loading && !keys.data && <Loading what="keys" />}
      {keys.data && keys.data.items.length === 0 && <Empty>No keys yet.</Empty>}
      {keys.data && keys.data.items.length > 0 && (
        <table>
          <caption className="sr-only">API keys</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Prefix</th>
              <th scope="col">Role</th>
              <th scope="col">State</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {keys.data.items.map((k) => (
              <tr key={k.id} data-key-id={k.id}>
                <td>{k.name}</td>
                <td>
                  <code>{k.display_prefix}</code>
                </td>
                <td>{k.role}</td>
                <td>{k.revoked_at ? "revoked" : k.expires_at ? `expires ${k.expires_at}` : "active"}</td>
                <td className="row">
                  {!k.revoked_at && (
                    <>
                      <button type="button" onClick={() => rotate(k.id)} aria-label={`Rotate ${k.name}`}>
                        Rotate
                      </button>
                      <button type="button" onClick={() => revoke(k.id, k.name)} aria-label={`Revoke ${k.name}`}>
                        Revoke
                      </button>
                    </>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

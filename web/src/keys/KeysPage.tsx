import { useId, useState, type FormEvent } from "react";
import type { components } from "../api/schema";
import { useAuth } from "../auth/AuthProvider";
import { ErrorView } from "../ui/ErrorView";
import { ListTable } from "../ui/ListTable";
import { SecretOnce } from "../ui/SecretOnce";
import { useFailure } from "../ui/useFailure";
import { useQuery } from "../ui/useQuery";

type Created = components["schemas"]["ApiKeyCreated"];

// The tenant's API keys: create (the secret is shown once), rotate with an overlap, revoke.
export function KeysPage() {
  const { api } = useAuth();
  const keys = useQuery(() => api.GET("/v1/api-keys"));
  const [name, setName] = useState("");
  const [created, setCreated] = useState<Created | null>(null);
  const { problem, failed, clear } = useFailure();
  const nameId = useId();

  async function create(event: FormEvent) {
    event.preventDefault();
    clear();
    const { data, error, response } = await api.POST("/v1/api-keys", { body: { name } });
    if (error !== undefined || !data) return failed(error, response.status);
    setCreated(data);
    setName("");
    await keys.reload();
  }

  async function rotate(id: string) {
    clear();
    const { data, error, response } = await api.POST("/v1/api-keys/{key_id}/rotate", {
      params: { path: { key_id: id } },
      body: { old_key_expires_in_s: 3600 },
    });
    if (error !== undefined || !data) return failed(error, response.status);
    setCreated(data);
    await keys.reload();
  }

  async function revoke(id: string, keyName: string) {
    if (!window.confirm(`Revoke the key "${keyName}"? Callers using it stop working at once.`)) return;
    clear();
    const { error, response } = await api.DELETE("/v1/api-keys/{key_id}", {
      params: { path: { key_id: id } },
    });
    if (error !== undefined) return failed(error, response.status);
    await keys.reload();
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
        <SecretOnce label="New key secret" secret={created.secret} testId="new-secret" onDone={() => setCreated(null)}>
          The secret of <strong>{created.name}</strong>.
        </SecretOnce>
      )}
      {problem && <ErrorView problem={problem} />}
      {keys.problem && <ErrorView problem={keys.problem} />}
      <ListTable
        items={keys.data?.items}
        loading={keys.loading}
        what="keys"
        empty="No keys yet."
        caption="API keys"
        columns={["Name", "Prefix", "Role", "State", "Actions"]}
        row={(k) => (
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
        )}
      />
    </section>
  );
}

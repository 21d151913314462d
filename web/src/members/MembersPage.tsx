import { useId, useState, type FormEvent } from "react";
import type { components } from "../api/schema";
import { useAuth } from "../auth/AuthProvider";
import { ErrorView } from "../ui/ErrorView";
import { ListTable } from "../ui/ListTable";
import { useFailure } from "../ui/useFailure";
import { useQuery } from "../ui/useQuery";

type Role = NonNullable<components["schemas"]["MemberInvite"]["role"]>;
const ROLES: Role[] = ["member", "developer", "admin"];

// The tenant's members: invite by email with a role, change a role, remove.
export function MembersPage() {
  const { api } = useAuth();
  const members = useQuery(() => api.GET("/v1/members"));
  const [email, setEmail] = useState("");
  const [role, setRole] = useState<Role>("member");
  const { problem, failed, clear } = useFailure();
  const ids = { email: useId(), role: useId() };

  async function invite(event: FormEvent) {
    event.preventDefault();
    clear();
    const { error, response } = await api.POST("/v1/members", { body: { email, role } });
    if (error !== undefined) return failed(error, response.status);
    setEmail("");
    await members.reload();
  }

  async function changeRole(id: string, next: Role) {
    clear();
    const { error, response } = await api.PATCH("/v1/members/{member_id}", {
      params: { path: { member_id: id } },
      body: { role: next },
    });
    if (error !== undefined) return failed(error, response.status);
    await members.reload();
  }

  async function remove(id: string, who: string) {
    if (!window.confirm(`Remove ${who} from the tenant?`)) return;
    clear();
    const { error, response } = await api.DELETE("/v1/members/{member_id}", {
      params: { path: { member_id: id } },
    });
    if (error !== undefined) return failed(error, response.status);
    await members.reload();
  }

  return (
    <section aria-labelledby="members-h">
      <h1 id="members-h">Members</h1>
      <form onSubmit={invite} className="row">
        <label htmlFor={ids.email}>Email</label>
        <input id={ids.email} type="email" required value={email} onChange={(e) => setEmail(e.target.value)} />
        <label htmlFor={ids.role}>Role</label>
        <select id={ids.role} value={role} onChange={(e) => setRole(e.target.value as Role)}>
          {ROLES.map((r) => (
            <option key={r}>{r}</option>
          ))}
        </select>
        <button type="submit">Invite</button>
      </form>
      {problem && <ErrorView problem={problem} />}
      {members.problem && <ErrorView problem={members.problem} />}
      <ListTable
        items={members.data?.items}
        loading={members.loading}
        what="members"
        empty={"No members or invitations yet."}
        caption="Members"
        columns={["Email", "Role", "Status", "Actions"]}
        row={(m) => (
          <tr key={m.id}>
            <td>{m.email}</td>
            <td>
              <select
                aria-label={`Role of ${m.email}`}
                value={m.role}
                onChange={(e) => void changeRole(m.id, e.target.value as Role)}
              >
                {ROLES.map((r) => (
                  <option key={r}>{r}</option>
                ))}
              </select>
            </td>
            <td>{m.status}</td>
            <td>
              <button type="button" aria-label={`Remove ${m.email}`} onClick={() => void remove(m.id, m.email)}>
                Remove
              </button>
            </td>
          </tr>
        )}
      />
    </section>
  );
}

import { Link } from "react-router";
import { useAuth } from "../auth/AuthProvider";
import { Empty, ErrorView, Loading } from "../ui/ErrorView";
import { useQuery } from "../ui/useQuery";

// The catalogue: what this tenant's tier may invoke.
export function AgentsPage() {
  const { api } = useAuth();
  const { data, problem, loading } = useQuery(() => api.GET("/v1/agents"));
  return (
    <section aria-labelledby="agents-h">
      <h1 id="agents-h">Agents</h1>
      {loading && <Loading what="agents" />}
      {problem && <ErrorView problem={problem} />}
      {data && data.items.length === 0 && <Empty>No agents are available to your tier.</Empty>}
      <ul className="cards">
        {data?.items.map((agent) => (
          <li key={agent.name} className="card">
            <h2>{agent.name}</h2>
            <p>{agent.description || "No description."}</p>
            <p className="muted">
              modes: {agent.modes.join(", ")} · aliases:{" "}
              {agent.aliases.map((a) => `${a.name} → v${a.version}`).join(", ")}
            </p>
            <Link to={`/invoke/${agent.name}`}>Invoke {agent.name}</Link>
          </li>
        ))}
      </ul>
    </section>
  );
}

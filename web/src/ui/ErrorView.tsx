import type { Problem } from "../api/problem";

// The API's problem, as it sent it: what went wrong (`detail`) and its stable `code`.
export function ErrorView({ problem }: { problem: Problem }) {
  return (
    <div role="alert" className="problem">
      <strong>{problem.title}</strong>
      {problem.detail && <p>{problem.detail}</p>}
      <p className="muted">
        code <code data-testid="problem-code">{problem.code}</code>
        {problem.status ? ` · HTTP ${problem.status}` : ""}
      </p>
    </div>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p role="status" aria-live="polite" className="muted">
      Loading {what}…
    </p>
  );
}

export function Empty({ children }: { children: string }) {
  return <p className="muted empty">{children}</p>;
}

import type { Problem } from "../api/problem";
import { ErrorView } from "../ui/ErrorView";

// What a page shows when the API refused the caller (403): the platform's answer, verbatim.
export function Forbidden({ problem }: { problem: Problem }) {
  return (
    <div data-testid="forbidden">
      <p>This page is for the platform's operators. The API refused your sign-in for it.</p>
      <ErrorView problem={problem} />
    </div>
  );
}

/** The page's load problem: a 403 becomes the forbidden view, anything else the problem. */
export function LoadProblem({ problem }: { problem: Problem | null }) {
  if (!problem) return null;
  return problem.status === 403 ? <Forbidden problem={problem} /> : <ErrorView problem={problem} />;
}

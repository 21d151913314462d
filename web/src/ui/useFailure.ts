import { useCallback, useState } from "react";
import { toProblem, type Problem } from "../api/problem";
import { useAuth } from "../auth/AuthProvider";

// A page's last failed action: the problem to show, `failed` to record one (and report it to
// the shell), `clear` before the next try.
export function useFailure() {
  const { report } = useAuth();
  const [problem, setProblem] = useState<Problem | null>(null);
  const failed = useCallback(
    (error: unknown, status: number) => {
      const p = toProblem(error, status);
      setProblem(p);
      report(p);
    },
    [report],
  );
  const clear = useCallback(() => setProblem(null), []);
  return { problem, failed, clear };
}

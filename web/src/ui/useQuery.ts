import { useCallback, useEffect, useRef, useState } from "react";
import { toProblem, type Problem } from "../api/problem";
import { useAuth } from "../auth/AuthProvider";

// One GET through the typed client: data, problem, loading, and a reload.
export function useQuery<T>(load: () => Promise<{ data?: T; error?: unknown; response: Response }>) {
  const { report } = useAuth();
  const [data, setData] = useState<T | null>(null);
  const [problem, setProblem] = useState<Problem | null>(null);
  const [loading, setLoading] = useState(true);
  const latest = useRef(load); // reload() runs the newest closure (e.g. a changed filter)
  latest.current = load;
  const reload = useCallback(async () => {
    setLoading(true);
    try {
      const { data: d, error, response } = await latest.current();
      if (error !== undefined || d === undefined) {
        const p = toProblem(error, response.status);
        setProblem(p);
        report(p);
      } else {
        setData(d);
        setProblem(null);
      }
    } catch (e) {
      setProblem(toProblem(e));
    } finally {
      setLoading(false);
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);
  useEffect(() => {
    void reload();
  }, [reload]);
  return { data, problem, loading, reload };
}

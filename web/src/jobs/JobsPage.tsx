import { useEffect, useId, useRef, useState } from "react";
import { Link, useParams } from "react-router";
import { toProblem, type Problem } from "../api/problem";
import type { components } from "../api/schema";
import { useAuth } from "../auth/AuthProvider";
import { StreamProblem } from "../invoke/stream";
import { Empty, ErrorView, Loading } from "../ui/ErrorView";
import { ListTable } from "../ui/ListTable";
import { useQuery } from "../ui/useQuery";
import { readJobEvents, TERMINAL, type JobEvent } from "./events";

type Job = components["schemas"]["JobOut"];
type Status = Job["status"];
const STATUSES: Status[] = ["queued", "running", "succeeded", "failed", "cancelled", "timed_out"];

// The tenant's jobs, newest first, filtered by status; each links to its detail page.
export function JobsPage() {
  const { api } = useAuth();
  const [status, setStatus] = useState<Status | "">("");
  const filterId = useId();
  const jobs = useQuery(() => api.GET("/v1/jobs", { params: { query: { status: status || undefined, limit: 50 } } }));
  const { reload } = jobs;
  const first = useRef(true);
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    void reload();
  }, [status, reload]);
  return (
    <section aria-labelledby="jobs-h">
      <h1 id="jobs-h">Jobs</h1>
      <div className="row">
        <label htmlFor={filterId}>Status</label>
        <select id={filterId} value={status} onChange={(e) => setStatus(e.target.value as Status | "")}>
          <option value="">any</option>
          {STATUSES.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
        <button type="button" onClick={() => void reload()}>
          Refresh
        </button>
      </div>
      {jobs.problem && <ErrorView problem={jobs.problem} />}
      <ListTable
        items={jobs.data?.items}
        loading={jobs.loading}
        what="jobs"
        empty={status ? `No ${status} jobs.` : "No jobs yet."}
        caption="Jobs"
        columns={["Job", "Agent", "Status", "Created"]}
        row={(j) => (
          <tr key={j.id} data-job-id={j.id}>
            <td>
              <Link to={`/jobs/${encodeURIComponent(j.id)}`}>
                <code>{j.id}</code>
              </Link>
            </td>
            <td>
              {j.agent} v{j.version}
            </td>
            <td>{j.status}</td>
            <td>{j.created_at}</td>
          </tr>
        )}
      />
    </section>
  );
}

// One job: status, progress events as they happen, the result or error, and cancel.
export function JobDetailPage() {
  const { jobId = "" } = useParams();
  const { api, config, token, report } = useAuth();
  const job = useQuery(() => api.GET("/v1/jobs/{job_id}", { params: { path: { job_id: jobId } } }));
  const [events, setEvents] = useState<JobEvent[]>([]);
  const [problem, setProblem] = useState<Problem | null>(null);
  const { reload } = job;
  const status = job.data?.status;

  // Events stream in; every status event refreshes the job (its result, timings).
  useEffect(() => {
    const controller = new AbortController();
    readJobEvents({ baseUrl: config?.api_url ?? "", token, jobId, signal: controller.signal }, (e) => {
      setEvents((prev) => [...prev, e]);
      if (e.kind === "status") void reload();
    }).catch((e: unknown) => {
      if (controller.signal.aborted) return;
      if (e instanceof StreamProblem) {
        // the job itself answers 404 the same way: shown once, by the job query
        if (e.problem.status !== 404) setProblem(e.problem);
      } else setProblem(toProblem(e));
    });
    return () => controller.abort();
  }, [config, token, jobId, reload]);

  async function cancel() {
    if (!window.confirm(`Cancel the job ${jobId}?`)) return;
    setProblem(null);
    const { error, response } = await api.POST("/v1/jobs/{job_id}/cancel", { params: { path: { job_id: jobId } } });
    if (error !== undefined) {
      const p = toProblem(error, response.status);
      setProblem(p);
      report(p);
    }
    await reload();
  }

  const j = job.data;
  return (
    <section aria-labelledby="job-h">
      <p>
        <Link to="/jobs">← All jobs</Link>
      </p>
      <h1 id="job-h">
        Job <code>{jobId}</code>
      </h1>
      {job.problem && <ErrorView problem={job.problem} />}
      {problem && <ErrorView problem={problem} />}
      {job.loading && !j && <Loading what="the job" />}
      {j && (
        <>
          <dl className="facts">
            <dt>Status</dt>
            <dd data-testid="job-status">{j.status}</dd>
            <dt>Agent</dt>
            <dd>
              {j.agent} v{j.version} ({j.alias})
            </dd>
            <dt>Created</dt>
            <dd>{j.created_at}</dd>
            <dt>Started</dt>
            <dd>{j.started_at ?? "—"}</dd>
            <dt>Finished</dt>
            <dd>{j.finished_at ?? "—"}</dd>
            <dt>Attempts</dt>
            <dd>{j.attempts}</dd>
          </dl>
          {status && !TERMINAL.has(status) && (
            <button type="button" onClick={() => void cancel()}>
              Cancel job
            </button>
          )}
          {j.error && <ErrorView problem={{ status: 0, code: j.error.code, title: "The job failed", detail: j.error.message ?? "" }} />}
          {j.result !== undefined && j.result !== null && (
            <>
              <h2>Result</h2>
              <pre data-testid="job-result">{JSON.stringify(j.result, null, 2)}</pre>
            </>
          )}
        </>
      )}
      <h2>Events</h2>
      {events.length === 0 ? (
        <Empty>No events yet.</Empty>
      ) : (
        <ol data-testid="job-events" aria-live="polite">
          {events.map((e) => (
            <li key={e.id}>
              <span className="muted">{e.at}</span> <strong>{e.kind}</strong> {e.text}
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}

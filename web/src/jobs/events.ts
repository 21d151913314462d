import { problemFrom } from "../api/problem";
import { StreamProblem } from "../invoke/stream";
import { readEvents, type SseEvent } from "../invoke/sse";

// A job's events (GET /v1/jobs/{id}/events, SSE): progress, checkpoints and status changes.
// The server ends the stream after the terminal status; the reader resumes with Last-Event-ID.

export interface JobEvent {
  id: number;
  kind: string;
  at: string;
  text: string;
}

export const TERMINAL = new Set(["succeeded", "failed", "cancelled", "timed_out"]);

/** One SSE event as a row of the job's event log. */
export function toJobEvent(event: SseEvent): JobEvent {
  let data: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(event.data);
    if (parsed && typeof parsed === "object") data = parsed as Record<string, unknown>;
  } catch {
    data = { raw: event.data };
  }
  const { at, ...rest } = data;
  return {
    id: Number(event.id ?? 0),
    kind: event.event,
    at: typeof at === "string" ? at : "",
    text: describe(event.event, rest),
  };
}

function describe(kind: string, data: Record<string, unknown>): string {
  if (kind === "status") {
    const status = String(data.status ?? "?");
    return data.error ? `${status} (${String(data.error)})` : status;
  }
  if (kind === "progress" && typeof data.step === "number" && typeof data.total === "number") {
    return `step ${data.step} of ${data.total}`;
  }
  return Object.keys(data).length ? JSON.stringify(data) : kind;
}

export interface JobEventsOptions {
  baseUrl: string;
  token: () => string | null;
  jobId: string;
  signal?: AbortSignal;
  fetchImpl?: typeof fetch;
  retryDelayMs?: number;
  maxRetries?: number;
}

/** Read every event until the terminal status (or abort); a dropped read resumes after the last id. */
export async function readJobEvents(options: JobEventsOptions, onEvent: (e: JobEvent) => void): Promise<void> {
  const fetchImpl = options.fetchImpl ?? fetch.bind(globalThis);
  let last = 0;
  let retries = 0;
  for (;;) {
    const headers: Record<string, string> = { Accept: "text/event-stream" };
    const token = options.token();
    if (token) headers.Authorization = `Bearer ${token}`;
    if (last) headers["Last-Event-ID"] = String(last);
    try {
      const response = await fetchImpl(`${options.baseUrl}/v1/jobs/${encodeURIComponent(options.jobId)}/events`, {
        headers,
        signal: options.signal,
      });
      if (!response.ok || !response.body) throw new StreamProblem(await problemFrom(response));
      let finished = false;
      for await (const sse of readEvents(response.body)) {
        const event = toJobEvent(sse);
        if (event.id <= last) continue; // never shown twice
        last = event.id;
        retries = 0;
        onEvent(event);
        if (event.kind === "status" && TERMINAL.has(event.text.split(" ")[0] ?? "")) finished = true;
      }
      if (finished) return;
    } catch (e) {
      if (e instanceof StreamProblem || options.signal?.aborted) throw e;
      if (retries >= (options.maxRetries ?? 5)) throw e;
    }
    if (options.signal?.aborted) return;
    retries += 1;
    await new Promise((r) => setTimeout(r, options.retryDelayMs ?? 1000));
  }
}

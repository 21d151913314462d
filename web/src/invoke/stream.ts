import { problemFrom, type Problem } from "../api/problem";
import { readEvents, type SseEvent } from "./sse";

// One stream invocation: POST /v1/agents/{agent}/stream, and after a dropped connection
// GET /v1/streams/{invocation_id} with Last-Event-ID, until `end` or `error` arrives. Events
// are numbered by the server, so a resumed read never repeats or skips one.

export interface StreamHandlers {
  onEvent(event: SseEvent): void;
  onReconnect?(attempt: number): void;
}

export interface StreamOptions {
  baseUrl: string;
  token: () => string | null;
  agent: string;
  body: unknown;
  signal?: AbortSignal;
  fetchImpl?: typeof fetch;
  retryDelaysMs?: number[];
}

export class StreamProblem extends Error {
  constructor(readonly problem: Problem) {
    super(problem.detail || problem.title);
  }
}

const TERMINAL = new Set(["end", "error"]);

export async function runStream(options: StreamOptions, handlers: StreamHandlers): Promise<void> {
  const fetchImpl = options.fetchImpl ?? fetch.bind(globalThis);
  const delays = options.retryDelaysMs ?? [250, 500, 1000, 2000, 4000, 4000, 4000, 4000];
  let invocationId: string | null = null;
  let lastId: string | null = null;
  let attempt = 0;
  for (;;) {
    const headers: Record<string, string> = { Accept: "text/event-stream" };
    const token = options.token();
    if (token) headers.Authorization = `Bearer ${token}`;
    let url: string;
    let init: RequestInit;
    if (invocationId === null) {
      headers["Content-Type"] = "application/json";
      url = `${options.baseUrl}/v1/agents/${encodeURIComponent(options.agent)}/stream`;
      init = { method: "POST", headers, body: JSON.stringify(options.body) };
    } else {
      if (lastId !== null) headers["Last-Event-ID"] = lastId;
      url = `${options.baseUrl}/v1/streams/${invocationId}`;
      init = { method: "GET", headers };
    }
    let response: Response;
    try {
      response = await fetchImpl(url, { ...init, signal: options.signal ?? null });
    } catch (error) {
      if (options.signal?.aborted || invocationId === null) throw error;
      attempt = await backoff(attempt, delays, handlers, error);
      continue;
    }
    if (!response.ok || !response.body) throw new StreamProblem(await problemFrom(response));
    invocationId ??= response.headers.get("X-Invocation-Id");
    try {
      for await (const event of readEvents(response.body)) {
        attempt = 0;
        if (event.id !== null) lastId = event.id;
        if (event.event === "start" && invocationId === null) {
          invocationId = (JSON.parse(event.data) as { invocation_id?: string }).invocation_id ?? null;
        }
        handlers.onEvent(event);
        if (TERMINAL.has(event.event)) return;
      }
    } catch (error) {
      if (options.signal?.aborted) throw error;
      if (invocationId === null) throw error;
    }
    // The connection ended before `end`/`error`: resume where it stopped.
    if (invocationId === null) throw new Error("the stream ended before it started");
    attempt = await backoff(attempt, delays, handlers, null);
  }
}

async function backoff(
  attempt: number,
  delays: number[],
  handlers: StreamHandlers,
  error: unknown,
): Promise<number> {
  if (attempt >= delays.length) throw error ?? new Error("the stream could not be resumed");
  handlers.onReconnect?.(attempt + 1);
  await new Promise((resolve) => setTimeout(resolve, delays[attempt]));
  return attempt + 1;
}

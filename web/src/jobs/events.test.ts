import { describe, expect, it } from "vitest";
import { StreamProblem } from "../invoke/stream";
import { readJobEvents, toJobEvent, type JobEvent } from "./events";

function sse(text: string, status = 200): Response {
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      c.enqueue(new TextEncoder().encode(text));
      c.close();
    },
  });
  return new Response(status === 200 ? body : text, {
    status,
    headers: { "Content-Type": status === 200 ? "text/event-stream" : "application/problem+json" },
  });
}

describe("toJobEvent", () => {
  it("describes progress, status with an error, and other kinds", () => {
    expect(toJobEvent({ id: "3", event: "progress", data: '{"step":2,"total":5,"at":"T1"}' })).toEqual({
      id: 3,
      kind: "progress",
      at: "T1",
      text: "step 2 of 5",
    });
    expect(toJobEvent({ id: "4", event: "status", data: '{"status":"failed","error":"agent_error","at":"T2"}' }).text).toBe(
      "failed (agent_error)",
    );
    expect(toJobEvent({ id: "5", event: "status", data: '{"status":"running","error":null,"at":"T"}' }).text).toBe("running");
    expect(toJobEvent({ id: "6", event: "checkpoint", data: '{"at":"T"}' }).text).toBe("checkpoint");
    expect(toJobEvent({ id: "7", event: "progress", data: "not json" }).text).toBe('{"raw":"not json"}');
  });
});

describe("readJobEvents", () => {
  it("resumes after a dropped read with Last-Event-ID and stops at the terminal status", async () => {
    const seen: (string | null)[] = [];
    const answers = [
      sse('id: 1\nevent: status\ndata: {"status":"running"}\n\nid: 2\nevent: progress\ndata: {"step":1,"total":2}\n\n'),
      sse('id: 2\nevent: progress\ndata: {"step":1,"total":2}\n\nid: 3\nevent: status\ndata: {"status":"succeeded"}\n\n'),
    ];
    const fetchImpl = (async (_url: string, init: RequestInit) => {
      seen.push((init.headers as Record<string, string>)["Last-Event-ID"] ?? null);
      return answers.shift()!;
    }) as unknown as typeof fetch;
    const events: JobEvent[] = [];
    await readJobEvents({ baseUrl: "", token: () => "t", jobId: "job_1", fetchImpl, retryDelayMs: 0 }, (e) => events.push(e));
    expect(events.map((e) => e.id)).toEqual([1, 2, 3]); // id 2 is not shown twice
    expect(seen).toEqual([null, "2"]);
    expect(events[2]?.text).toBe("succeeded");
  });

  it("turns a refused read into the API's problem", async () => {
    const fetchImpl = (async () =>
      sse('{"title":"Not found","status":404,"code":"not_found","detail":"no such job"}', 404)) as unknown as typeof fetch;
    const read = readJobEvents({ baseUrl: "", token: () => null, jobId: "job_x", fetchImpl }, () => {});
    await expect(read).rejects.toBeInstanceOf(StreamProblem);
    await expect(read).rejects.toMatchObject({ problem: { code: "not_found", status: 404 } });
  });
});

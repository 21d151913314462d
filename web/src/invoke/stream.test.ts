import { describe, expect, it } from "vitest";
import { runStream, StreamProblem } from "./stream";
import type { SseEvent } from "./sse";

function sse(text: string, { fail = false } = {}): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  let pulls = 0;
  return new ReadableStream({
    pull(c) {
      pulls += 1;
      if (pulls === 1) c.enqueue(bytes);
      else if (fail) c.error(new TypeError("network error"));
      else c.close();
    },
  });
}

describe("runStream", () => {
  it("resumes after a drop with Last-Event-ID and never repeats an event", async () => {
    const requests: { url: string; method: string; headers: Headers }[] = [];
    const answers = [
      () =>
        new Response(
          sse('id: 0\nevent: start\ndata: {"invocation_id":"inv_1"}\n\nid: 1\nevent: chunk\ndata: "a"\n\n', { fail: true }),
          { headers: { "X-Invocation-Id": "inv_1" } },
        ),
      () => new Response(sse('id: 2\nevent: chunk\ndata: "b"\n\nid: 3\nevent: end\ndata: {}\n\n')),
    ];
    const fetchImpl = async (url: RequestInfo | URL, init?: RequestInit) => {
      requests.push({ url: String(url), method: init?.method ?? "GET", headers: new Headers(init?.headers) });
      return answers[requests.length - 1]!();
    };
    const seen: SseEvent[] = [];
    const reconnects: number[] = [];
    await runStream(
      { baseUrl: "http://api", token: () => "tok", agent: "echo", body: { input: {} }, fetchImpl, retryDelaysMs: [1, 1] },
      { onEvent: (e) => seen.push(e), onReconnect: (n) => reconnects.push(n) },
    );
    expect(seen.map((e) => e.id)).toEqual(["0", "1", "2", "3"]);
    expect(reconnects).toEqual([1]);
    expect(requests[0]!.method).toBe("POST");
    expect(requests[0]!.url).toBe("http://api/v1/agents/echo/stream");
    expect(requests[0]!.headers.get("Authorization")).toBe("Bearer tok");
    expect(requests[1]!.method).toBe("GET");
    expect(requests[1]!.url).toBe("http://api/v1/streams/inv_1");
    expect(requests[1]!.headers.get("Last-Event-ID")).toBe("1");
  });

  it("turns a refused start into the API's problem", async () => {
    const fetchImpl = async () =>
      new Response(JSON.stringify({ status: 403, code: "tier_denied", title: "No", detail: "basic tier" }), {
        status: 403,
        headers: { "Content-Type": "application/problem+json" },
      });
    const error = await runStream(
      { baseUrl: "", token: () => null, agent: "x", body: {}, fetchImpl },
      { onEvent: () => undefined },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StreamProblem);
    expect((error as StreamProblem).problem).toMatchObject({ status: 403, code: "tier_denied", detail: "basic tier" });
  });

  it("gives up after its retries", async () => {
    let calls = 0;
    const fetchImpl = async () => {
      calls += 1;
      if (calls === 1) return new Response(sse("id: 0\nevent: start\ndata: {}\n\n"), { headers: { "X-Invocation-Id": "inv_2" } });
      throw new TypeError("offline");
    };
    await expect(
      runStream(
        { baseUrl: "", token: () => null, agent: "x", body: {}, fetchImpl, retryDelaysMs: [1, 1] },
        { onEvent: () => undefined },
      ),
    ).rejects.toThrow("offline");
    expect(calls).toBe(3);
  });
});

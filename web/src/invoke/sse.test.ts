import { describe, expect, it } from "vitest";
import { readEvents, SseParser } from "./sse";

describe("SseParser", () => {
  it("parses LF and CRLF framing, ids, events and multi-line data", () => {
    const p = new SseParser();
    const events = p.push('id: 1\nevent: start\ndata: {"a":1}\n\n: ping - now\r\nid: 2\r\nevent: chunk\r\ndata: x\r\ndata: y\r\n\r\n');
    expect(events).toEqual([
      { id: "1", event: "start", data: '{"a":1}' },
      { id: "2", event: "chunk", data: "x\ny" },
    ]);
  });

  it("keeps a partial event until its blank line arrives, across splits", () => {
    const p = new SseParser();
    expect(p.push("id: 7\nevent: ch")).toEqual([]);
    expect(p.push("unk\ndata: hel")).toEqual([]);
    expect(p.push("lo\r")).toEqual([]); // a lone CR may be half of CRLF
    expect(p.push("\n\r\n")).toEqual([{ id: "7", event: "chunk", data: "hello" }]);
  });

  it("skips comments and ignores unknown fields", () => {
    const p = new SseParser();
    expect(p.push(": hi\nretry: 5\n\n")).toEqual([]);
    expect(p.push("data: only\n\n")).toEqual([{ id: null, event: "message", data: "only" }]);
  });
});

describe("readEvents", () => {
  it("yields events from a byte stream split mid-character", async () => {
    const bytes = new TextEncoder().encode("id: 1\nevent: chunk\ndata: héllo\n\n");
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(bytes.slice(0, 27)); // inside the two-byte é
        c.enqueue(bytes.slice(27));
        c.close();
      },
    });
    const out = [];
    for await (const e of readEvents(body)) out.push(e);
    expect(out).toEqual([{ id: "1", event: "chunk", data: "héllo" }]);
  });
});

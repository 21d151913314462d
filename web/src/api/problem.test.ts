import { expect, it } from "vitest";
import { problemFrom, toProblem } from "./problem";

it("reads problem+json and survives bodies that are not", async () => {
  const r = new Response(JSON.stringify({ status: 404, code: "agent_not_found", title: "Not found", detail: "no x" }), { status: 404 });
  expect(await problemFrom(r)).toEqual({ status: 404, code: "agent_not_found", title: "Not found", detail: "no x" });
  const html = new Response("<html>", { status: 502, statusText: "Bad Gateway" });
  expect(await problemFrom(html)).toMatchObject({ status: 502, code: "unknown_error" });
  expect(toProblem(new TypeError("Failed to fetch"))).toMatchObject({ code: "unknown_error", detail: "Failed to fetch" });
});

import { expect, it } from "vitest";
import { parseInput } from "./input";

it("accepts JSON and explains what is wrong otherwise", () => {
  expect(parseInput('{"prompt": "hi"}')).toEqual({ ok: true, value: { prompt: "hi" } });
  expect(parseInput("  ")).toMatchObject({ ok: false, error: expect.stringContaining("empty") });
  expect(parseInput("{prompt: hi}")).toMatchObject({ ok: false, error: expect.stringContaining("not valid JSON") });
});

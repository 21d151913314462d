import { expect, it } from "vitest";
import { fromNano, grandTotal, pivot, toNano, totals, windowOf, type DailyLine } from "./usage";

const line = (day: string, agent: string, model: string, kind: string, quantity: number, cost: string): DailyLine => ({
  day,
  agent,
  model,
  kind,
  events: 1,
  quantity,
  cost,
});

const LINES = [
  line("2026-11-02", "echo", "", "runtime_ms", 300, "0.000300000"),
  line("2026-11-01", "concierge", "local-large", "input_tokens", 100, "0.100000000"),
  line("2026-11-01", "concierge", "", "runtime_ms", 2000, "0.000000001"),
  line("2026-11-01", "echo", "", "runtime_ms", 100, "0.000100000"),
];

it("sums decimal strings exactly, in billionths", () => {
  expect(toNano("0.1")).toBe(100_000_000n);
  expect(toNano("12.000000001")).toBe(12_000_000_001n);
  expect(toNano("-0.5")).toBe(-500_000_000n);
  expect(fromNano(toNano("0.1") + toNano("0.2"))).toBe("0.300000000"); // not 0.30000000000000004
  expect(fromNano(0n)).toBe("0.000000000");
  expect(fromNano(-1n)).toBe("-0.000000001");
  expect(grandTotal(LINES)).toBe("0.100400001");
});

it("pivots lines into one chart row per day, a series per agent or model", () => {
  const byAgent = pivot(LINES, "agent");
  expect(byAgent.series).toEqual(["concierge", "echo"]);
  expect(byAgent.rows).toEqual([
    { day: "2026-11-01", concierge: 0.100000001, echo: 0.0001 },
    { day: "2026-11-02", concierge: 0, echo: 0.0003 },
  ]);
  const byModel = pivot(LINES, "model");
  expect(byModel.series).toEqual(["(no model)", "local-large"]);
  expect(byModel.rows[0]).toEqual({ day: "2026-11-01", "(no model)": 0.000100001, "local-large": 0.1 });
});

it("totals quantities per kind and cost per agent", () => {
  expect(totals(LINES, "agent")).toEqual([
    { name: "concierge", cost: "0.100000001", quantities: { input_tokens: 100, runtime_ms: 2000 } },
    { name: "echo", cost: "0.000400000", quantities: { runtime_ms: 400 } },
  ]);
  expect(totals([], "model")).toEqual([]);
});

it("asks for whole UTC days ending after today", () => {
  const w = windowOf(7, new Date("2026-12-03T23:59:00+05:00")); // 18:59 UTC on the 3rd
  expect(w).toEqual({ from: "2026-11-27T00:00:00.000Z", to: "2026-12-04T00:00:00.000Z" });
});

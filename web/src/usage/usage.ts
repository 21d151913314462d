import type { components } from "../api/schema";

export type DailyLine = components["schemas"]["DailyUsageLine"];
export type Breakdown = "agent" | "model";

export interface Pivot {
  // One row per day: { day, [series]: cost }, ready for a stacked bar chart.
  rows: Array<Record<string, string | number>>;
  series: string[];
}

export const NO_MODEL = "(no model)";

export function seriesOf(line: DailyLine, by: Breakdown): string {
  if (by === "agent") return line.agent;
  return line.model === "" ? NO_MODEL : line.model;
}

// Decimal strings summed in billionths (the API's precision), so totals match the API exactly.
const SCALE = 1_000_000_000n;

export function toNano(cost: string | number): bigint {
  const text = String(cost);
  const negative = text.startsWith("-");
  const [whole = "0", frac = ""] = text.replace(/^[-+]/, "").split(".");
  const n = BigInt(whole || "0") * SCALE + BigInt((frac + "000000000").slice(0, 9));
  return negative ? -n : n;
}

export function fromNano(n: bigint, digits = 9): string {
  const negative = n < 0n;
  const abs = negative ? -n : n;
  const whole = abs / SCALE;
  const frac = (abs % SCALE).toString().padStart(9, "0").slice(0, digits);
  return `${negative ? "-" : ""}${whole}${digits > 0 ? "." + frac : ""}`;
}

export function pivot(lines: DailyLine[], by: Breakdown): Pivot {
  const days = new Map<string, Map<string, bigint>>();
  const series = new Set<string>();
  for (const line of lines) {
    const s = seriesOf(line, by);
    series.add(s);
    const day = days.get(line.day) ?? new Map<string, bigint>();
    day.set(s, (day.get(s) ?? 0n) + toNano(line.cost));
    days.set(line.day, day);
  }
  const names = [...series].sort();
  const rows = [...days.keys()].sort().map((day) => {
    const row: Record<string, string | number> = { day };
    const costs = days.get(day)!;
    for (const s of names) row[s] = Number(fromNano(costs.get(s) ?? 0n));
    return row;
  });
  return { rows, series: names };
}

export interface Total {
  name: string;
  cost: string;
  quantities: Record<string, number>; // per kind (tokens, tool calls, runtime ms)
}

export function totals(lines: DailyLine[], by: Breakdown): Total[] {
  const acc = new Map<string, { cost: bigint; quantities: Record<string, number> }>();
  for (const line of lines) {
    const name = seriesOf(line, by);
    const t = acc.get(name) ?? { cost: 0n, quantities: {} };
    t.cost += toNano(line.cost);
    t.quantities[line.kind] = (t.quantities[line.kind] ?? 0) + line.quantity;
    acc.set(name, t);
  }
  return [...acc.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, t]) => ({ name, cost: fromNano(t.cost), quantities: t.quantities }));
}

export function grandTotal(lines: DailyLine[]): string {
  return fromNano(lines.reduce((sum, l) => sum + toNano(l.cost), 0n));
}

export const RANGES = [
  { id: "7", label: "Last 7 days" },
  { id: "30", label: "Last 30 days" },
  { id: "90", label: "Last 90 days" },
] as const;

// The window the API is asked for: whole UTC days, ending after today.
export function windowOf(days: number, now = new Date()): { from: string; to: string } {
  const end = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1));
  const start = new Date(end.getTime() - days * 86_400_000);
  return { from: start.toISOString(), to: end.toISOString() };
}

// The invoke input: any JSON value the agent accepts; agents mostly take an object.
export type Parsed = { ok: true; value: unknown } | { ok: false; error: string };

export function parseInput(text: string): Parsed {
  if (!text.trim()) return { ok: false, error: "Input is empty: give a JSON value, e.g. {\"prompt\": \"hi\"}." };
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (e) {
    return { ok: false, error: `Input is not valid JSON: ${(e as Error).message}` };
  }
}

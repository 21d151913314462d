import type { components } from "../api/schema";
import type { Option } from "../ui/controls";

type Listing = components["schemas"]["ListingRead"];
type Version = components["schemas"]["ListingVersion"];

export function tagOptions(listings: Listing[]): Option[] {
  const tags = [...new Set(listings.flatMap((l) => l.tags))].sort();
  return [{ id: "*", label: "Any tag" }, ...tags.map((t) => ({ id: t, label: t }))];
}

// "v1, v2, v3 (latest 2026-11-30)": the numbers, and when the newest was published.
export function versionsText(versions: Version[]): string {
  if (versions.length === 0) return "none published";
  const sorted = [...versions].sort((a, b) => a.number - b.number);
  const latest = sorted.at(-1)!;
  const shown = sorted.length > 5 ? [sorted[0]!, null, ...sorted.slice(-3)] : sorted;
  const numbers = shown.map((v) => (v ? `v${v.number}` : "…")).join(", ");
  return `${numbers} (latest ${latest.created_at.slice(0, 10)})`;
}

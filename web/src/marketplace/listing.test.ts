import { expect, it } from "vitest";
import type { components } from "../api/schema";
import { tagOptions, versionsText } from "./listing";

type Listing = components["schemas"]["ListingRead"];
const listing = (tags: string[]): Listing =>
  ({ id: "lst_x", agent: "a", tags, skills: [], description: "", status: "approved" }) as unknown as Listing;

it("offers every tag once, sorted, after 'Any tag'", () => {
  expect(tagOptions([listing(["text", "summary"]), listing(["summary", "code"])]).map((o) => o.id)).toEqual([
    "*",
    "code",
    "summary",
    "text",
  ]);
});

it("names the versions and when the newest was published", () => {
  expect(versionsText([])).toBe("none published");
  const v = (number: number, day: string) => ({ number, created_at: `${day}T10:00:00Z` });
  expect(versionsText([v(2, "2026-11-02"), v(1, "2026-11-01")])).toBe("v1, v2 (latest 2026-11-02)");
  const many = [1, 2, 3, 4, 5, 6, 7].map((n) => v(n, `2026-11-0${n}`));
  expect(versionsText(many)).toBe("v1, …, v5, v6, v7 (latest 2026-11-07)");
});

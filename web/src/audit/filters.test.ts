import { expect, it } from "vitest";
import { toQuery } from "./filters";

it("sends only the filters that are set, with whole UTC days", () => {
  expect(toQuery({ action: "", from: "", to: "" })).toEqual({ query: {} });
  expect(toQuery({ action: " api_key. ", from: "2026-11-01", to: "2026-11-30" })).toEqual({
    query: { action: "api_key.", from: "2026-11-01T00:00:00Z", to: "2026-12-01T00:00:00.000Z" },
  });
  expect(toQuery({ action: "", from: "2026-11-30", to: "2026-11-30" })).toEqual({
    query: { from: "2026-11-30T00:00:00Z", to: "2026-12-01T00:00:00.000Z" },
  });
});

it("refuses what the API would refuse", () => {
  expect(toQuery({ action: "Keys Create", from: "", to: "" })).toHaveProperty("error");
  expect(toQuery({ action: "x".repeat(101), from: "", to: "" })).toHaveProperty("error");
  expect(toQuery({ action: "", from: "2026-12-02", to: "2026-12-01" })).toEqual({ error: "From must not be after To" });
});

import { expect, it } from "vitest";
import { displayName } from "./auth";

function token(claims: object): string {
  const b64 = (s: string) => btoa(String.fromCharCode(...new TextEncoder().encode(s))).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
  return `${b64('{"alg":"RS256"}')}.${b64(JSON.stringify(claims))}.sig`;
}

it("reads the display name (UTF-8, base64url) and survives junk", () => {
  expect(displayName(token({ name: "Ådå (acme admin)" }))).toBe("Ådå (acme admin)");
  expect(displayName(token({ preferred_username: "max@acme" }))).toBe("max@acme");
  expect(displayName(token({}))).toBeNull();
  expect(displayName("not a token")).toBeNull();
});

import { cleanup, render, screen } from "@testing-library/react";
import { afterEach, expect, it } from "vitest";
import { ErrorView } from "./ErrorView";

afterEach(cleanup);

it("shows the problem's detail and code as an alert", () => {
  render(<ErrorView problem={{ status: 403, code: "agent_not_in_tier", title: "Not on your tier", detail: "premium only" }} />);
  const alert = screen.getByRole("alert");
  expect(alert.textContent).toContain("Not on your tier");
  expect(alert.textContent).toContain("premium only");
  expect(screen.getByTestId("problem-code").textContent).toBe("agent_not_in_tier");
  expect(alert.textContent).toContain("HTTP 403");
});

it("leaves out what the problem does not have", () => {
  render(<ErrorView problem={{ status: 0, code: "network_error", title: "Network error", detail: "" }} />);
  expect(screen.getByRole("alert").textContent).not.toContain("HTTP");
});

import { act, cleanup, fireEvent, render, screen } from "@testing-library/react";
import { afterEach, expect, it, vi } from "vitest";
import { ConfirmButton, SelectField } from "./controls";

afterEach(cleanup);

// jsdom has no CSS.escape (react-aria reads a CSP nonce meta tag with it); browsers do.
if (!globalThis.CSS?.escape) {
  Object.assign(globalThis, { CSS: { ...globalThis.CSS, escape: (s: string) => s.replace(/[^a-zA-Z0-9_-]/g, "\\$&") } });
}

it("asks before it acts: Keep does nothing, the confirm button acts once", async () => {
  const act_ = vi.fn();
  render(
    <ConfirmButton label="Unsubscribe" ariaLabel="Unsubscribe from echo" title="Unsubscribe from echo?" confirm="Yes, unsubscribe" onConfirm={act_}>
      <p>Members lose it.</p>
    </ConfirmButton>,
  );
  fireEvent.click(screen.getByRole("button", { name: "Unsubscribe from echo" }));
  const dialog = await screen.findByRole("dialog", { name: "Unsubscribe from echo?" });
  expect(dialog.textContent).toContain("Members lose it.");
  fireEvent.click(screen.getByRole("button", { name: "Keep" }));
  await act(async () => {});
  expect(act_).not.toHaveBeenCalled();
  expect(screen.queryByRole("dialog")).toBeNull();

  fireEvent.click(screen.getByRole("button", { name: "Unsubscribe from echo" }));
  fireEvent.click(await screen.findByRole("button", { name: "Yes, unsubscribe" }));
  await act(async () => {});
  expect(act_).toHaveBeenCalledTimes(1);
});

it("labels the select and shows the chosen option", () => {
  const onChange = vi.fn();
  render(
    <SelectField
      label="Period"
      options={[
        { id: "7", label: "Last 7 days" },
        { id: "30", label: "Last 30 days" },
      ]}
      value="30"
      onChange={onChange}
    />,
  );
  const trigger = screen.getByRole("button", { name: /Period/ });
  expect(trigger.textContent).toContain("Last 30 days");
});

import type { ReactNode } from "react";
import {
  Button,
  Dialog,
  DialogTrigger,
  Heading,
  Label,
  ListBox,
  ListBoxItem,
  Modal,
  Popover,
  Select,
  SelectValue,
} from "react-aria-components";
import "./controls.css";

// Small wrappers over react-aria-components: labelled, keyboard usable, styled once.

export interface Option {
  id: string;
  label: string;
}

export function SelectField({
  label,
  options,
  value,
  onChange,
  testId,
}: {
  label: string;
  options: readonly Option[];
  value: string;
  onChange: (id: string) => void;
  testId?: string;
}) {
  return (
    <Select
      className="ra-select"
      selectedKey={value}
      onSelectionChange={(key) => key !== null && onChange(String(key))}
      data-testid={testId}
    >
      <Label>{label}</Label>
      <Button className="ra-select-button">
        <SelectValue />
        <span aria-hidden="true">▾</span>
      </Button>
      <Popover className="ra-popover">
        <ListBox className="ra-listbox">
          {options.map((o) => (
            <ListBoxItem key={o.id} id={o.id} className="ra-option" textValue={o.label}>
              {o.label}
            </ListBoxItem>
          ))}
        </ListBox>
      </Popover>
    </Select>
  );
}

// A button that asks before it acts, in a modal dialog (focus trapped, Escape closes).
export function ConfirmButton({
  label,
  ariaLabel,
  title,
  children,
  confirm,
  onConfirm,
}: {
  label: string;
  ariaLabel?: string;
  title: string;
  children: ReactNode;
  confirm: string;
  onConfirm: () => void | Promise<void>;
}) {
  return (
    <DialogTrigger>
      <Button className="ra-button" aria-label={ariaLabel}>
        {label}
      </Button>
      <Modal className="ra-modal" isDismissable>
        <Dialog className="ra-dialog">
          {({ close }) => (
            <>
              <Heading slot="title">{title}</Heading>
              {children}
              <div className="row">
                <Button className="ra-button" onPress={close}>
                  Keep
                </Button>
                <Button
                  className="ra-button primary"
                  onPress={() => {
                    close();
                    void onConfirm();
                  }}
                >
                  {confirm}
                </Button>
              </div>
            </>
          )}
        </Dialog>
      </Modal>
    </DialogTrigger>
  );
}

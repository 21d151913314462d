import { useState, type ReactNode } from "react";

// A secret the API shows once (a new key, a webhook signing secret): what it is, the value
// with a Copy button, and Done to hide it. "Copied" resets when a new secret comes.
export function SecretOnce({
  label,
  secret,
  testId,
  onDone,
  children,
}: {
  label: string;
  secret: string;
  testId: string;
  onDone: () => void;
  children: ReactNode;
}) {
  const [copiedFor, setCopiedFor] = useState<string | null>(null);

  async function copy() {
    await navigator.clipboard.writeText(secret);
    setCopiedFor(secret);
  }

  return (
    <div className="secret" role="region" aria-label={label}>
      <p>{children} It is shown this once; copy it now.</p>
      <code data-testid={testId}>{secret}</code>{" "}
      <button type="button" onClick={() => void copy()}>
        {copiedFor === secret ? "Copied" : "Copy"}
      </button>
      <button type="button" onClick={onDone}>
        Done
      </button>
    </div>
  );
}

import { useEffect, useState, type FormEvent } from "react";
import { Cell, Column, Input, Label, Row, Table, TableBody, TableHeader, Text, TextField } from "react-aria-components";
import { useAuth } from "../auth/AuthProvider";
import "../ui/controls.css";
import { Empty, ErrorView, Loading } from "../ui/ErrorView";
import { useQuery } from "../ui/useQuery";
import { toQuery, type AuditForm, type AuditQuery } from "./filters";

const PAGE = 25;

// The tenant's audit trail (admins), newest first: filter by action and day, page back.
export function AuditPage() {
  const { api } = useAuth();
  const [form, setForm] = useState<AuditForm>({ action: "", from: "", to: "" });
  const [applied, setApplied] = useState<AuditQuery>({});
  const [cursors, setCursors] = useState<number[]>([]); // before_seq of each page after the first
  const [invalid, setInvalid] = useState<string | null>(null);
  const before = cursors.at(-1);
  const events = useQuery(() =>
    api.GET("/v1/audit", { params: { query: { ...applied, limit: PAGE, ...(before ? { before_seq: before } : {}) } } }),
  );

  const [asked, setAsked] = useState(0);
  useEffect(() => {
    if (asked > 0) void events.reload(); // after the render that holds the new filters
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [asked]);

  function load(next: AuditQuery, pages: number[]) {
    setApplied(next);
    setCursors(pages);
    setAsked((n) => n + 1);
  }

  function apply(event: FormEvent) {
    event.preventDefault();
    const result = toQuery(form);
    if ("error" in result) return setInvalid(result.error);
    setInvalid(null);
    load(result.query, []);
  }

  const items = events.data?.items ?? [];
  const next = events.data?.next_before_seq ?? null;
  return (
    <section aria-labelledby="audit-h">
      <h1 id="audit-h">Audit log</h1>
      <form className="filters" onSubmit={apply} aria-label="Filter the audit log">
        <TextField className="ra-field" value={form.action} onChange={(action) => setForm({ ...form, action })}>
          <Label>Action</Label>
          <Input placeholder="e.g. keys.create or keys." />
          <Text slot="description" className="muted">
            A name, or a prefix ending in "."
          </Text>
        </TextField>
        <TextField className="ra-field" type="date" value={form.from} onChange={(from) => setForm({ ...form, from })}>
          <Label>From (UTC day)</Label>
          <Input type="date" />
        </TextField>
        <TextField className="ra-field" type="date" value={form.to} onChange={(to) => setForm({ ...form, to })}>
          <Label>To (UTC day)</Label>
          <Input type="date" />
        </TextField>
        <button type="submit">Apply filters</button>
        <button
          type="button"
          onClick={() => {
            setForm({ action: "", from: "", to: "" });
            setInvalid(null);
            load({}, []);
          }}
        >
          Clear
        </button>
      </form>
      {invalid && (
        <p role="alert" className="field-error">
          {invalid}
        </p>
      )}
      {events.problem && <ErrorView problem={events.problem} />}
      {events.loading && <Loading what="audit events" />}
      {events.data && items.length === 0 && <Empty>No audit events match.</Empty>}
      {events.data && items.length > 0 && (
        <div className="scroll-x">
          <Table aria-label="Audit events" className="ra-table" data-testid="audit-events">
            <TableHeader>
              <Column isRowHeader>Time (UTC)</Column>
              <Column>Action</Column>
              <Column>Outcome</Column>
              <Column>Actor</Column>
              <Column>Details</Column>
            </TableHeader>
            <TableBody items={items}>
              {(e) => (
                <Row id={e.id} data-action={e.action} data-seq={e.seq}>
                  <Cell data-label="Time (UTC)">{e.at.replace("T", " ").replace(/\.\d+/, "").replace(/(Z|\+00:00)$/, "")}</Cell>
                  <Cell data-label="Action">
                    <code className="action">{e.action}</code>
                  </Cell>
                  <Cell data-label="Outcome">{e.outcome}</Cell>
                  <Cell data-label="Actor">
                    <code>{e.actor}</code>
                  </Cell>
                  <Cell data-label="Details">
                    <span className="details">{JSON.stringify(e.details)}</span>
                  </Cell>
                </Row>
              )}
            </TableBody>
          </Table>
        </div>
      )}
      <nav className="row" aria-label="Audit pages">
        <button type="button" disabled={cursors.length === 0} onClick={() => load(applied, [])}>
          Newest
        </button>
        <button type="button" disabled={cursors.length === 0} onClick={() => load(applied, cursors.slice(0, -1))}>
          Newer
        </button>
        <button type="button" disabled={next === null} onClick={() => next !== null && load(applied, [...cursors, next])}>
          Older
        </button>
        <span className="muted" aria-live="polite">
          Page {cursors.length + 1}
        </span>
      </nav>
    </section>
  );
}

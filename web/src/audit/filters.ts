// The audit page's filter form, turned into the API's query (or a message saying what is wrong).
export interface AuditForm {
  action: string;
  from: string; // a date (YYYY-MM-DD, UTC) or ""
  to: string; // inclusive day
}

export interface AuditQuery {
  action?: string;
  from?: string;
  to?: string;
}

const ACTION = /^[a-z0-9_.]{1,100}$/;

export function toQuery(form: AuditForm): { query: AuditQuery } | { error: string } {
  const query: AuditQuery = {};
  const action = form.action.trim();
  if (action) {
    if (!ACTION.test(action)) return { error: "Action: lower-case letters, digits, '_' and '.' only" };
    query.action = action;
  }
  if (form.from) query.from = `${form.from}T00:00:00Z`;
  if (form.to) {
    const end = new Date(`${form.to}T00:00:00Z`);
    end.setUTCDate(end.getUTCDate() + 1); // the whole last day
    query.to = end.toISOString();
  }
  if (query.from && query.to && query.from >= query.to) return { error: "From must not be after To" };
  return { query };
}

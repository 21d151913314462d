import { useEffect, useState } from "react";
import { Tab, TabList, TabPanel, Tabs } from "react-aria-components";
import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { toProblem, type Problem } from "../api/problem";
import { useAuth } from "../auth/AuthProvider";
import { SelectField } from "../ui/controls";
import { Empty, ErrorView, Loading } from "../ui/ErrorView";
import { useQuery } from "../ui/useQuery";
import { RANGES, grandTotal, pivot, totals, windowOf, type Breakdown, type DailyLine } from "./usage";

// Colour-blind-safe (Okabe–Ito), dark enough against white.
const COLOURS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#999933"];

// The tenant's usage and cost (admins): a daily chart split by agent or model, totals, and
// the same lines as a CSV download.
export function UsagePage() {
  const { api, report } = useAuth();
  const [range, setRange] = useState<string>("30");
  const [by, setBy] = useState<Breakdown>("agent");
  const [problem, setProblem] = useState<Problem | null>(null);
  const query = () => windowOf(Number(range));
  const usage = useQuery(() => api.GET("/v1/usage/daily", { params: { query: query() } }));
  useEffect(() => {
    void usage.reload();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [range]);

  async function download() {
    setProblem(null);
    const { data, error, response } = await api.GET("/v1/usage/daily.csv", {
      params: { query: query() },
      parseAs: "text",
    });
    if (error !== undefined || data === undefined) {
      const p = toProblem(error, response.status);
      setProblem(p);
      report(p);
      return;
    }
    const name = /filename="([^"]+)"/.exec(response.headers.get("Content-Disposition") ?? "")?.[1] ?? "usage.csv";
    const url = URL.createObjectURL(new Blob([data as string], { type: "text/csv" }));
    const a = document.createElement("a");
    a.href = url;
    a.download = name;
    document.body.append(a);
    a.click();
    a.remove();
    URL.revokeObjectURL(url);
  }

  const lines: DailyLine[] = usage.data?.lines ?? [];
  const currency = usage.data?.currency ?? "USD";
  return (
    <section aria-labelledby="usage-h">
      <h1 id="usage-h">Usage</h1>
      <div className="filters">
        <SelectField label="Period" options={RANGES} value={range} onChange={setRange} />
        <button type="button" onClick={() => void download()} disabled={!usage.data}>
          Download CSV
        </button>
      </div>
      {problem && <ErrorView problem={problem} />}
      {usage.problem && <ErrorView problem={usage.problem} />}
      {usage.loading && !usage.data && <Loading what="usage" />}
      {usage.data && (
        <dl className="figures" data-testid="usage-figures">
          <div>
            <dt>Total cost ({currency})</dt>
            <dd data-testid="usage-total">{grandTotal(lines)}</dd>
          </div>
          <div>
            <dt>Agents</dt>
            <dd>{new Set(lines.map((l) => l.agent)).size}</dd>
          </div>
          <div>
            <dt>Days with usage</dt>
            <dd>{new Set(lines.map((l) => l.day)).size}</dd>
          </div>
        </dl>
      )}
      {usage.data && lines.length === 0 && <Empty>No usage in this period.</Empty>}
      {usage.data && lines.length > 0 && (
        <Tabs className="ra-tabs" selectedKey={by} onSelectionChange={(k) => setBy(k as Breakdown)}>
          <TabList className="ra-tablist" aria-label="Break down by">
            <Tab id="agent" className="ra-tab">
              By agent
            </Tab>
            <Tab id="model" className="ra-tab">
              By model
            </Tab>
          </TabList>
          {(["agent", "model"] as const).map((b) => (
            <TabPanel key={b} id={b}>
              <Breakdown lines={lines} by={b} currency={currency} />
            </TabPanel>
          ))}
        </Tabs>
      )}
    </section>
  );
}

function Breakdown({ lines, by, currency }: { lines: DailyLine[]; by: Breakdown; currency: string }) {
  const { rows, series } = pivot(lines, by);
  const kinds = [...new Set(lines.map((l) => l.kind))].sort();
  return (
    <>
      <figure className="chart" data-testid={`usage-chart-${by}`} aria-label={`Daily cost in ${currency} by ${by}`}>
        <ResponsiveContainer width="100%" height="100%">
          <BarChart data={rows} margin={{ top: 8, right: 16, bottom: 8, left: 8 }}>
            <CartesianGrid strokeDasharray="3 3" vertical={false} />
            <XAxis dataKey="day" />
            <YAxis width={72} />
            <Tooltip />
            <Legend />
            {series.map((s, i) => (
              <Bar key={s} dataKey={s} stackId="cost" fill={COLOURS[i % COLOURS.length]} isAnimationActive={false} />
            ))}
          </BarChart>
        </ResponsiveContainer>
      </figure>
      <table className="ra-table" data-testid={`usage-totals-${by}`}>
        <caption className="sr-only">Totals by {by}</caption>
        <thead>
          <tr>
            <th scope="col">{by === "agent" ? "Agent" : "Model"}</th>
            {kinds.map((k) => (
              <th scope="col" key={k} className="num">
                {k.replaceAll("_", " ")}
              </th>
            ))}
            <th scope="col" className="num">
              Cost ({currency})
            </th>
          </tr>
        </thead>
        <tbody>
          {totals(lines, by).map((t) => (
            <tr key={t.name} data-name={t.name}>
              <th scope="row">{t.name}</th>
              {kinds.map((k) => (
                <td key={k} className="num" data-label={k.replaceAll("_", " ")}>
                  {t.quantities[k] ?? 0}
                </td>
              ))}
              <td className="num" data-testid="row-cost" data-label={`Cost (${currency})`}>
                {t.cost}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

import { useEffect, useState } from "react";
import { Button, Input, Label, SearchField } from "react-aria-components";
import { toProblem, type Problem } from "../api/problem";
import type { components } from "../api/schema";
import { useAuth } from "../auth/AuthProvider";
import { ConfirmButton, SelectField } from "../ui/controls";
import { Empty, ErrorView, Loading } from "../ui/ErrorView";
import { useQuery } from "../ui/useQuery";
import { tagOptions, versionsText } from "./listing";

type Listing = components["schemas"]["ListingRead"];

// The catalogue of approved marketplace agents. Admins subscribe and unsubscribe their
// tenant; members see the agents their tenant subscribes to (the API decides).
export function MarketplacePage() {
  const { api, report, state } = useAuth();
  const admin = state.status === "signed-in" && (state.me.role === "admin" || state.me.role === "operator");
  const [text, setText] = useState("");
  const [search, setSearch] = useState({ q: "", tag: "" });
  const [problem, setProblem] = useState<Problem | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const query = () => ({ ...(search.q ? { q: search.q } : {}), ...(search.tag ? { tag: search.tag } : {}) });
  const listings = useQuery(() => api.GET("/v1/marketplace", { params: { query: query() } }));
  const all = useQuery(() => api.GET("/v1/marketplace")); // every tag, whatever the search
  const [asked, setAsked] = useState(0);
  useEffect(() => {
    if (asked > 0) void listings.reload();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [asked]);

  function find(next: { q: string; tag: string }) {
    setSearch(next);
    setAsked((n) => n + 1);
  }

  async function change(listing: Listing, subscribe: boolean) {
    setProblem(null);
    setBusy(listing.agent);
    try {
      const { error, response } = subscribe
        ? await api.POST("/v1/marketplace/subscriptions", { body: { agent: listing.agent } })
        : await api.DELETE("/v1/marketplace/subscriptions/{agent}", { params: { path: { agent: listing.agent } } });
      if (error !== undefined) {
        const p = toProblem(error, response.status);
        setProblem(p);
        report(p);
        return;
      }
      await Promise.all([listings.reload(), all.reload()]);
    } finally {
      setBusy(null);
    }
  }

  const items = listings.data ?? [];
  const filtered = search.q !== "" || search.tag !== "";
  return (
    <section aria-labelledby="market-h">
      <h1 id="market-h">Marketplace</h1>
      <p className="muted">
        {admin
          ? "Agents published for every tenant. Subscribe to make one available to your organisation."
          : "The marketplace agents your organisation subscribes to. Your admins choose them."}
      </p>
      <div className="filters">
        <SearchField
          className="ra-field"
          value={text}
          onChange={setText}
          onSubmit={(q) => find({ ...search, q: q.trim() })}
          onClear={() => find({ ...search, q: "" })}
        >
          <Label>Search</Label>
          <Input placeholder="Name or description" />
        </SearchField>
        <Button className="ra-button" onPress={() => find({ ...search, q: text.trim() })}>
          Search
        </Button>
        <SelectField
          label="Tag"
          options={tagOptions(all.data ?? [])}
          value={search.tag || "*"}
          onChange={(t) => find({ ...search, tag: t === "*" ? "" : t })}
        />
      </div>
      {problem && <ErrorView problem={problem} />}
      {listings.problem && <ErrorView problem={listings.problem} />}
      {listings.loading && !listings.data && <Loading what="the catalogue" />}
      {listings.data && items.length === 0 && (
        <Empty>
          {filtered
            ? "No agents match."
            : admin
              ? "No agents are listed yet."
              : "Your organisation subscribes to no marketplace agents yet."}
        </Empty>
      )}
      <ul className="cards" data-testid="catalogue">
        {items.map((l) => (
          <li key={l.id} className="card" data-agent={l.agent}>
            <h2>
              {l.agent}{" "}
              {l.subscribed && (
                <span className="badge on" data-testid="subscribed">
                  Subscribed
                </span>
              )}
              {l.mine && <span className="badge">Yours</span>}
            </h2>
            <p>{l.description || <span className="muted">No description.</span>}</p>
            <dl className="facts">
              <dt>Skills</dt>
              <dd>{l.skills.length ? l.skills.join(", ") : "—"}</dd>
              <dt>Tags</dt>
              <dd>
                <ul className="tags" aria-label={`Tags of ${l.agent}`}>
                  {l.tags.map((t) => (
                    <li key={t} className="badge">
                      {t}
                    </li>
                  ))}
                </ul>
              </dd>
              <dt>Tier</dt>
              <dd>{l.tier_minimum ? `${l.tier_minimum} or higher` : "any"}</dd>
              <dt>Versions</dt>
              <dd>{versionsText(l.versions ?? [])}</dd>
              <dt>Price</dt>
              <dd>{l.price_hint || "—"}</dd>
            </dl>
            {admin && !l.mine && (
              <div className="row">
                {l.subscribed ? (
                  <ConfirmButton
                    label="Unsubscribe"
                    ariaLabel={`Unsubscribe from ${l.agent}`}
                    title={`Unsubscribe from ${l.agent}?`}
                    confirm="Unsubscribe"
                    onConfirm={() => change(l, false)}
                  >
                    <p>Members of your organisation will no longer see or invoke {l.agent}.</p>
                  </ConfirmButton>
                ) : (
                  <Button
                    className="ra-button primary"
                    aria-label={`Subscribe to ${l.agent}`}
                    isDisabled={busy === l.agent}
                    onPress={() => void change(l, true)}
                  >
                    Subscribe
                  </Button>
                )}
              </div>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}

"""`agentry ops billing ...`: the price book, budgets, adjustments and monthly statements.

Through the API with the operator key (--url/--key, else AGENTRY_URL and AGENTRY_OPERATOR_KEY).
Every change is audited by the platform. Exit codes: 0 ok, 1 the platform refused (the
problem's code is printed), 2 bad usage. pyarrow and matplotlib load only for `run`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from agentry.cli.client import ApiClient, print_json
from agentry.cli.options import Json, OperatorKey, Url
from agentry.cli.output import group, out, table

app = group("Billing: prices, budgets, adjustments, statements.")
KEY_ENV = "AGENTRY_OPERATOR_KEY"
TenantArg = typer.Argument(..., help="Tenant id (ten_...).")
MonthOpt = typer.Option(..., "--month", help="YYYY-MM (UTC calendar month).")


def _api(url: str | None, key: str | None, as_json: bool) -> ApiClient:
    return ApiClient(url, key, KEY_ENV, as_json, prefix="/v1/admin", timeout=300)


def _budget(api: ApiClient, budget: dict[str, Any]) -> None:
    if api.as_json:
        print_json(budget)
        return
    limit = budget["monthly_limit"] or "none"
    ceiling = budget["ceiling"] or "none"
    out().print(
        f"{budget['tenant_id']} {budget['month']}: [bold]{budget['status']}[/], spent "
        f"{budget['spent']} of {limit} {budget['currency']} (ceiling {ceiling})"
    )


@app.command("run")
def run(
    month: str = MonthOpt,
    out_dir: Path = typer.Option(
        Path(".agentry/billing"), "--out", help="Folder; files go to <out>/<month>/<tenant>/."
    ),
    url: Url = None,
    key: OperatorKey = None,
    as_json: Json = False,
) -> None:
    """Every tenant's statement for the month as JSON, CSV, Parquet and a PNG of daily spend.
    Re-running writes the same bytes unless an adjustment was added."""
    from agentry.billing.exports import write_statement
    from agentry.billing.schemas import Statement

    api = _api(url, key, as_json)
    found = api.call("GET", f"/billing/statements/{month}")
    written = []
    for item in found["items"]:
        statement = Statement.model_validate(item)
        folder = out_dir / found["month"] / statement.tenant_slug
        paths = write_statement(statement, folder)
        written.append((statement, folder, paths))
    if as_json:
        print_json(
            [
                {
                    "tenant_id": s.tenant_id,
                    "tenant_slug": s.tenant_slug,
                    "month": s.month,
                    "total": str(s.total),
                    "total_due": str(s.total_due),
                    "final": s.final,
                    "files": [str(p) for p in paths],
                }
                for s, _, paths in written
            ]
        )
        return
    rows = table("tenant", "lines", "usage", "adjustments", "total due", "folder")
    for s, folder, _ in written:
        rows.add_row(
            s.tenant_slug,
            str(len(s.lines)),
            f"{s.usage_total:f}",
            f"{s.adjustments_total:f}",
            f"{s.total_due:f} {s.currency}",
            str(folder),
        )
    out().print(rows)
    out().print(f"{len(written)} statements for {found['month']} in {out_dir / found['month']}")


@app.command("statement")
def statement(
    tenant_id: str = TenantArg,
    month: str = MonthOpt,
    url: Url = None,
    key: OperatorKey = None,
    as_json: Json = False,
) -> None:
    """One tenant's statement: lines by agent, model, kind and unit price; adjustments; totals."""
    api = _api(url, key, as_json)
    s = api.call("GET", f"/tenants/{tenant_id}/billing/statements/{month}")
    if as_json:
        print_json(s)
        return
    rows = table("agent", "model", "kind", "unit price", "quantity", "amount")
    for line in s["lines"]:
        rows.add_row(
            line["agent"],
            line["model"],
            line["kind"],
            line["unit_price"],
            str(line["quantity"]),
            line["amount"],
        )
    for adj in s["adjustments"]:
        rows.add_row("adjustment", "", adj["reason"], "", "", adj["amount"])
    out().print(rows)
    out().print(f"[bold]total due[/] {s['total_due']} {s['currency']} (exact {s['total']})")


@app.command("prices")
def prices(url: Url = None, key: OperatorKey = None, as_json: Json = False) -> None:
    """The price book: every price with its effective range."""
    api = _api(url, key, as_json)
    book = api.call("GET", "/billing/prices")
    if as_json:
        print_json(book)
        return
    rows = table("id", "tier", "kind", "model", f"unit price ({book['currency']})", "from", "to")
    for p in book["items"]:
        rows.add_row(
            p["id"],
            p["tier"],
            p["kind"],
            p["model"] or "*",
            p["unit_price"],
            p["effective_from"],
            p["effective_to"] or "",
        )
    out().print(rows)


@app.command("price-set")
def price_set(
    tier: str = typer.Option(..., "--tier"),
    kind: str = typer.Option(
        ..., "--kind", help="input_tokens, output_tokens, tool_call, runtime_ms."
    ),
    price: str = typer.Option(..., "--price", help="Unit price, decimal string."),
    start: str = typer.Option(..., "--from", help="Effective from, ISO 8601 with a time zone."),
    model: str = typer.Option("", "--model", help="Only for this model."),
    url: Url = None,
    key: OperatorKey = None,
    as_json: Json = False,
) -> None:
    """Schedule a price change (never retroactive; audited)."""
    api = _api(url, key, as_json)
    body = {
        "tier": tier,
        "kind": kind,
        "model": model,
        "unit_price": price,
        "effective_from": start,
    }
    created = api.call("POST", "/billing/prices", json=body)
    if as_json:
        print_json(created)
        return
    out().print(
        f"[green]scheduled[/] {created['id']}: {tier} {kind} {created['unit_price']} "
        f"from {created['effective_from']}"
    )


@app.command("budget")
def budget(
    tenant_id: str = TenantArg, url: Url = None, key: OperatorKey = None, as_json: Json = False
) -> None:
    """A tenant's monthly budget, month-to-date spend and status (ok, warning, exhausted)."""
    api = _api(url, key, as_json)
    _budget(api, api.call("GET", f"/tenants/{tenant_id}/billing/budget"))


@app.command("budget-set")
def budget_set(
    tenant_id: str = TenantArg,
    limit: str = typer.Option(..., "--limit", help="Monthly limit, or 'none' to remove it."),
    ceiling: str | None = typer.Option(None, "--ceiling", help="Most a tenant admin may set."),
    url: Url = None,
    key: OperatorKey = None,
    as_json: Json = False,
) -> None:
    """Set (or raise) a tenant's monthly budget; a raise lets new work in at once."""
    api = _api(url, key, as_json)
    body = {"monthly_limit": None if limit == "none" else limit, "ceiling": ceiling}
    _budget(api, api.call("PUT", f"/tenants/{tenant_id}/billing/budget", json=body))


@app.command("reinstate")
def reinstate(
    tenant_id: str = TenantArg,
    reason: str = typer.Option(..., "--reason", help="Why (audited)."),
    url: Url = None,
    key: OperatorKey = None,
    as_json: Json = False,
) -> None:
    """Let an over-budget tenant work again for the rest of this month (budget unchanged)."""
    api = _api(url, key, as_json)
    body = {"reason": reason}
    _budget(api, api.call("POST", f"/tenants/{tenant_id}/billing/reinstate", json=body))


@app.command("adjust")
def adjust(
    tenant_id: str = TenantArg,
    month: str = MonthOpt,
    amount: str = typer.Option(..., "--amount", help="Negative: a credit; positive: a charge."),
    reason: str = typer.Option(..., "--reason", help="Shown on the statement."),
    url: Url = None,
    key: OperatorKey = None,
    as_json: Json = False,
) -> None:
    """A credit or charge on a tenant's month (audited, shown on the statement)."""
    api = _api(url, key, as_json)
    body = {"month": month, "amount": amount, "reason": reason}
    made = api.call("POST", f"/tenants/{tenant_id}/billing/adjustments", json=body)
    if as_json:
        print_json(made)
        return
    out().print(f"[green]adjusted[/] {made['id']}: {made['amount']} on {made['month']}")

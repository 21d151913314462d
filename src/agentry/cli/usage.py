"""`agentry ops usage`: metered usage and cost across tenants (operators; through the API)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import typer

from agentry.cli.client import ApiClient, print_json
from agentry.cli.options import Json, OperatorKey, Url
from agentry.cli.output import out, table

KEY_ENV = "AGENTRY_OPERATOR_KEY"
GROUPS = ("tenant", "agent", "day", "model")


def usage(
    start: str | None = typer.Option(None, "--from", help="Start (inclusive), ISO 8601."),
    end: str | None = typer.Option(None, "--to", help="End (exclusive), ISO 8601."),
    group_by: str = typer.Option("tenant", "--group-by", help="tenant, agent, day or model."),
    tenant_id: str | None = typer.Option(None, "--tenant-id", help="Only this tenant."),
    url: Url = None,
    key: OperatorKey = None,
    as_json: Json = False,
) -> None:
    """Usage and cost per tenant (or agent, day, model) over a window; default the last 30 days."""
    api = ApiClient(url, key, KEY_ENV, as_json, prefix="/v1/admin", timeout=60)
    if group_by not in GROUPS:
        api.fail(
            {"code": "validation_error", "detail": f"--group-by is one of {', '.join(GROUPS)}"},
            code=2,
        )
    params: dict[str, Any] = {"group_by": group_by}
    for name, value in (("from", start), ("to", end)):
        if value is not None:
            try:
                params[name] = datetime.fromisoformat(value).isoformat()
            except ValueError:
                api.fail(
                    {"code": "validation_error", "detail": f"--{name} {value!r} is not ISO 8601"},
                    code=2,
                )
    if tenant_id is not None:
        params["tenant_id"] = tenant_id
    report = api.call("GET", "/usage", params=params)
    if as_json:
        print_json(report)
        return
    rows = table(group_by, "kind", "quantity", f"cost ({report['currency']})")
    for line in report["lines"]:
        rows.add_row(line["key"], line["kind"], str(line["quantity"]), str(line["cost"]))
    out().print(f"{report['start']} .. {report['end']}")
    out().print(rows)
    out().print(f"[bold]total[/] {report['total_cost']} {report['currency']}")

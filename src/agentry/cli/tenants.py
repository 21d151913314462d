"""`agentry ops tenants ...`: onboard, list, change tier, suspend, reactivate, erase (via the API).

Every change is audited by the platform. Uses --url/--key, else AGENTRY_URL and
AGENTRY_OPERATOR_KEY (environment or .agentry/dev.env). Every command takes --json. Exit codes:
0 ok, 1 the platform refused (the problem's code is printed), 2 bad usage.
"""

from __future__ import annotations

from typing import Any

import typer

from agentry.cli.client import ApiClient, print_json
from agentry.cli.options import Json, OperatorKey, Url
from agentry.cli.output import group, out, table

app = group("Tenants: onboard, tier, suspend, reactivate, erase.")
KEY_ENV = "AGENTRY_OPERATOR_KEY"
TenantArg = typer.Argument(..., help="Tenant id (ten_...).")


def _api(url: str | None, key: str | None, as_json: bool) -> ApiClient:
    return ApiClient(url, key, KEY_ENV, as_json, prefix="/v1/admin", timeout=60)


def _show(tenant: dict[str, Any], verb: str) -> None:
    out().print(
        f"[green]{verb}[/] {tenant['slug']} ({tenant['id']}): tier {tenant['tier']}, "
        f"{tenant['status']}"
    )


def _change(api: ApiClient, method: str, path: str, verb: str, **kwargs: Any) -> None:
    tenant = api.call(method, path, **kwargs)
    if api.as_json:
        print_json(tenant)
    else:
        _show(tenant, verb)


@app.command("list")
def list_tenants(url: Url = None, key: OperatorKey = None, as_json: Json = False) -> None:
    """Every tenant with its tier and status."""
    tenants = _api(url, key, as_json).call("GET", "/tenants")["items"]
    if as_json:
        print_json(tenants)
        return
    rows = table("id", "slug", "name", "tier", "status", "created")
    for t in tenants:
        rows.add_row(t["id"], t["slug"], t["display_name"], t["tier"], t["status"], t["created_at"])
    out().print(rows)


@app.command("onboard")
def onboard(
    slug: str = typer.Argument(..., help="Short name: a-z, 0-9, '-'."),
    name: str = typer.Option(..., "--name", help="Display name."),
    tier: str = typer.Option("basic", "--tier", help="basic, standard or premium."),
    entra: list[str] = typer.Option([], "--entra-tenant-id", help="Entra tenant id (repeat)."),
    url: Url = None,
    key: OperatorKey = None,
    as_json: Json = False,
) -> None:
    """Create a tenant and its first admin key (printed once: hand it over securely)."""
    body = {"slug": slug, "name": name, "tier": tier, "entra_tenant_ids": entra}
    created = _api(url, key, as_json).call("POST", "/tenants", json=body)
    if as_json:
        print_json(created)
        return
    _show(created, "onboarded")
    out().print(f"admin key (shown once): {created['admin_key']}", soft_wrap=True)


@app.command("set-tier")
def set_tier(
    tenant_id: str = TenantArg,
    tier: str = typer.Argument(..., help="basic, standard or premium."),
    url: Url = None,
    key: OperatorKey = None,
    as_json: Json = False,
) -> None:
    """Move a tenant to another tier (models, tools, quotas and prices follow at once)."""
    _change(
        _api(url, key, as_json), "PATCH", f"/tenants/{tenant_id}", "updated", json={"tier": tier}
    )


@app.command("suspend")
def suspend(
    tenant_id: str = TenantArg, url: Url = None, key: OperatorKey = None, as_json: Json = False
) -> None:
    """Refuse every credential of the tenant (403 tenant_suspended) until reactivated."""
    _change(_api(url, key, as_json), "POST", f"/tenants/{tenant_id}/suspend", "suspended")


@app.command("reactivate")
def reactivate(
    tenant_id: str = TenantArg, url: Url = None, key: OperatorKey = None, as_json: Json = False
) -> None:
    """Lift a suspension."""
    _change(_api(url, key, as_json), "POST", f"/tenants/{tenant_id}/reactivate", "reactivated")


@app.command("erase")
def erase(
    tenant_id: str = TenantArg,
    yes: bool = typer.Option(False, "--yes", help="Confirm: this deletes the tenant's data."),
    url: Url = None,
    key: OperatorKey = None,
    as_json: Json = False,
) -> None:
    """Erase a tenant and its data (GDPR); audit rows are kept, pseudonymised."""
    api = _api(url, key, as_json)
    if not yes:
        api.fail({"code": "confirmation_required", "detail": "add --yes to erase"}, code=2)
    result = api.call("DELETE", f"/tenants/{tenant_id}")
    if as_json:
        print_json(result)
    else:
        out().print(f"[green]erased[/] {result['id']}: {result['rows_deleted']}")

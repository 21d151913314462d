"""`agentry ops policies ...`: Cedar policy sets as data (publish, shadow, enforce, roll back).

The platform's set by default, with the operator key; `--tenant` manages the set of the tenant
whose admin key is given (AGENTRY_API_KEY). Exit codes: 0 ok, 1 refused, 2 bad input (a policy
that does not validate).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from agentry.cli.client import ApiClient, print_json
from agentry.cli.options import Json, Url
from agentry.cli.output import group, out, table

app = group("Cedar policies: publish, shadow (LOG_ONLY), enforce, roll back.")

Key = Annotated[
    str | None, typer.Option("--key", help="Operator key, or a tenant admin key with --tenant.")
]
TenantSet = Annotated[
    bool, typer.Option("--tenant", help="The caller's tenant set, not the platform's.")
]
BAD_INPUT = ("policy_invalid", "validation_error", "policy_locks_out_admins")


class Api(ApiClient):
    def __init__(self, url: str | None, key: str | None, tenant: bool, as_json: bool) -> None:
        super().__init__(
            url,
            key,
            "AGENTRY_API_KEY" if tenant else "AGENTRY_OPERATOR_KEY",
            as_json,
            prefix="/v1/policies" if tenant else "/v1/admin/policies",
            timeout=30,
        )


def _show(state: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print_json(state)
        return
    out().print(
        f"enforced: [bold]{state['enforced_version'] or '-'}[/]  "
        f"shadow: [bold]{state['shadow_version'] or '-'}[/]"
    )
    report = state.get("shadow_report")
    if report:
        out().print(
            f"shadow v{report['version']}: {report['evaluated']} decisions, "
            f"{report['would_deny']} would be denied, {report['would_allow']} would be allowed"
        )
    rows = table("version", "sha256", "note", "created by", "enforced at")
    for v in state["versions"]:
        rows.add_row(
            str(v["number"]), v["sha256"][:12], v["note"], v["created_by"], v["enforced_at"] or ""
        )
    out().print(rows)


@app.command("status")
def status(
    url: Url = None, key: Key = None, tenant: TenantSet = False, as_json: Json = False
) -> None:
    """The enforced and shadow versions, the shadow report, every version."""
    _show(Api(url, key, tenant, as_json).call("GET", ""), as_json)


@app.command("publish")
def publish(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="A .cedar file."),
    note: str = typer.Option("", "--note"),
    force: bool = typer.Option(False, "--force", help="Even if it locks out administrators."),
    url: Url = None,
    key: Key = None,
    tenant: TenantSet = False,
    as_json: Json = False,
) -> None:
    """Validate and store a new version (not in force until shadowed or enforced)."""
    body = {"text": file.read_text(), "note": note, "force": force}
    version = Api(url, key, tenant, as_json).call(
        "POST", "/versions", json=body, bad_input=BAD_INPUT
    )
    if as_json:
        print_json(version)
    else:
        out().print(f"[green]published[/] version {version['number']} ({version['sha256'][:12]})")


def _mode(path: str, method: str, url: str | None, key: str | None, tenant: bool, js: bool) -> None:
    _show(Api(url, key, tenant, js).call(method, path, json=None), js)


@app.command("shadow")
def shadow(
    version: int = typer.Argument(..., min=1),
    url: Url = None,
    key: Key = None,
    tenant: TenantSet = False,
    as_json: Json = False,
) -> None:
    """Run a version in LOG_ONLY mode: decisions counted and logged, nothing enforced."""
    _mode(f"/versions/{version}/shadow", "POST", url, key, tenant, as_json)


@app.command("enforce")
def enforce(
    version: int = typer.Argument(..., min=1),
    url: Url = None,
    key: Key = None,
    tenant: TenantSet = False,
    as_json: Json = False,
) -> None:
    """ENFORCE a version (every API process within seconds; this one at once)."""
    _mode(f"/versions/{version}/enforce", "POST", url, key, tenant, as_json)


@app.command("rollback")
def rollback(
    version: int | None = typer.Option(None, "--to", min=1, help="Default: the previous one."),
    url: Url = None,
    key: Key = None,
    tenant: TenantSet = False,
    as_json: Json = False,
) -> None:
    """Enforce an earlier version again."""
    body = {"version": version} if version is not None else {}
    _show(Api(url, key, tenant, as_json).call("POST", "/rollback", json=body), as_json)


@app.command("disable")
def disable(
    url: Url = None, key: Key = None, tenant: TenantSet = False, as_json: Json = False
) -> None:
    """Stop enforcing (and stop shadowing) this set."""
    api = Api(url, key, tenant, as_json)
    api.call("DELETE", "/shadow")
    _show(api.call("DELETE", "/enforced"), as_json)

"""`agentry ops agents|developers|capacity`: agent rollback (RUNBOOK-007), developer onboarding
(RUNBOOK-008) and quota sizing (RUNBOOK-004) with the operator's credential.

Agents and developer keys go through the registry and API key routes (an operator holds every
scope); every change there is audited by the platform (`registry.alias.*`, `api_key.*`).
Exit codes: 0 ok, 1 the platform refused (the problem's code is printed), 2 bad usage.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from agentry.cli.agent import versions_table
from agentry.cli.client import ApiClient, print_json
from agentry.cli.output import group, out, table

KEY_ENV = "AGENTRY_OPERATOR_KEY"
UrlOpt = typer.Option(None, "--url", help="API base URL (default $AGENTRY_URL).")
KeyOpt = typer.Option(None, "--key", help=f"Operator key (default ${KEY_ENV}).")
JsonOpt = typer.Option(False, "--json", help="Print JSON for scripts.")
# What an agent developer's key may do: push, move aliases, invoke and run jobs.
DEVELOPER_SCOPES = ["invoke", "jobs", "registry:write"]

agents_app = group("Agents of every developer: versions, aliases, rollback.")
developers_app = group("Agent developers' keys: onboard, list, offboard.")


def _api(url: str | None, key: str | None, as_json: bool, prefix: str) -> ApiClient:
    return ApiClient(url, key, KEY_ENV, as_json, prefix=prefix, timeout=300)


# agents


@agents_app.command("versions")
def agent_versions(
    name: str = typer.Argument(..., help="Agent name."),
    url: str = UrlOpt,
    key: str = KeyOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Every version of an agent (any developer's), and where each alias points."""
    data = _api(url, key, as_json, "/v1/registry/agents").call("GET", f"/{name}/versions")
    if as_json:
        print_json(data)
        return
    out().print(versions_table(data))
    for a in data["aliases"]:
        canary = (
            f", canary v{a['canary_version']} at {a['canary_weight']}%"
            if a["canary_version"] is not None
            else ""
        )
        out().print(f"alias {a['name']} → v{a['version']}{canary}")


@agents_app.command("rollback")
def agent_rollback(
    name: str = typer.Argument(..., help="Agent name."),
    alias: str = typer.Option("live", "--alias", help="Alias to roll back."),
    version: int | None = typer.Option(
        None, "--version", min=1, help="Point the alias at this version (default: the previous)."
    ),
    url: str = UrlOpt,
    key: str = KeyOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Stop a running canary, or point the alias back at its previous version at once (no
    health gate; audited `registry.alias.rollback`). With --version: that version, after its
    health gate (audited `registry.alias.set`)."""
    api = _api(url, key, as_json, "/v1/registry/agents")
    if version is None:
        state = api.call("POST", f"/{name}/aliases/{alias}/rollback")
    else:
        body = {"version": version}
        state = api.call("PUT", f"/{name}/aliases/{alias}", json=body)["alias"]
    if as_json:
        print_json(state)
    else:
        out().print(f"[green]rolled back[/] {name} '{state['name']}' → version {state['version']}")


# developers


def _developer_keys(api: ApiClient) -> list[dict[str, Any]]:
    items = api.call("GET", "")["items"]
    return [k for k in items if k["role"] == "developer"]


@developers_app.command("onboard")
def developer_onboard(
    name: str = typer.Argument(..., help="Who the key is for (a label, e.g. dana-ml)."),
    days: int | None = typer.Option(
        None, "--days", min=1, max=365, help="The key stops working after this many days."
    ),
    out_file: Path | None = typer.Option(
        None, "--out", help="Write `export AGENTRY_DEVELOPER_KEY=...` here (0600), not stdout."
    ),
    url: str = UrlOpt,
    key: str = KeyOpt,
    as_json: bool = JsonOpt,
) -> None:
    """A developer key (push, aliases, invoke, jobs) in the platform tenant; the secret is
    shown once (audited `api_key.create`)."""
    from datetime import UTC, datetime, timedelta

    body: dict[str, Any] = {"name": f"developer {name}", "scopes": DEVELOPER_SCOPES}
    if days is not None:
        body["expires_at"] = (datetime.now(UTC) + timedelta(days=days)).isoformat()
    api = _api(url, key, as_json, "/v1/api-keys")
    created = api.call("POST", "", json=body, bad_input=("validation_error",))
    secret = created.pop("secret")
    if out_file is not None:
        out_file.parent.mkdir(parents=True, exist_ok=True)
        out_file.touch(mode=0o600)
        out_file.chmod(0o600)
        out_file.write_text(f'export AGENTRY_DEVELOPER_KEY="{secret}"\n')
    else:
        created["secret"] = secret
    if as_json:
        print_json(created)
        return
    out().print(f"[green]onboarded[/] {name}: key {created['id']} ({', '.join(created['scopes'])})")
    if out_file is not None:
        out().print(f"key written to {out_file} (hand it over privately, then delete it)")
    else:
        out().print(f"AGENTRY_DEVELOPER_KEY={secret}  (shown once: hand it over privately)")


@developers_app.command("list")
def developer_list(url: str = UrlOpt, key: str = KeyOpt, as_json: bool = JsonOpt) -> None:
    """Developer keys: who, since when, last use, expiry, revoked."""
    found = _developer_keys(_api(url, key, as_json, "/v1/api-keys"))
    if as_json:
        print_json(found)
        return
    rows = table("key", "name", "prefix", "created", "last used", "expires", "revoked")
    for k in found:
        rows.add_row(
            k["id"], k["name"], k["display_prefix"], k["created_at"][:19],
            (k["last_used_at"] or "")[:19], (k["expires_at"] or "")[:19],
            (k["revoked_at"] or "")[:19],
        )  # fmt: skip
    out().print(rows)


@developers_app.command("offboard")
def developer_offboard(
    key_id: str = typer.Argument(..., help="The developer's key id (key_..., from list)."),
    url: str = UrlOpt,
    key: str = KeyOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Revoke a developer's key at once (audited `api_key.revoke`); pushed versions stay."""
    api = _api(url, key, as_json, "/v1/api-keys")
    if key_id not in {k["id"] for k in _developer_keys(api)}:
        api.fail({"code": "developer_not_found", "detail": f"{key_id} is no developer key"}, 2)
    done = api.call("DELETE", f"/{key_id}")
    if as_json:
        print_json(done)
    else:
        out().print(f"[green]revoked[/] {done['id']} ({done['name']}) at {done['revoked_at']}")


# capacity


def capacity(
    days: int = typer.Option(7, "--days", min=1, max=90, help="The window: the last N days."),
    top: int = typer.Option(10, "--top", min=1, max=100, help="Tenants listed, by peak."),
    growth: float = typer.Option(1.5, "--growth", min=1, max=10, help="Peak x this."),
    step: int = typer.Option(10, "--step", min=1, max=10_000, help="Round up to a multiple."),
    url: str = UrlOpt,
    key: str = KeyOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Measured peak concurrent runtime sessions (overall, per tenant), peak invocations per
    second and minute, the configured quota, headroom and a recommended quota."""
    params = {"days": days, "top": top, "growth": growth, "step": step}
    report = _api(url, key, as_json, "/v1/admin").call(
        "GET", "/capacity", params=params, bad_input=("validation_error",)
    )
    if as_json:
        print_json(report)
        return
    summary = table("measure", "value")
    summary.add_row("window", f"last {report['days']} d (since {report['since'][:19]})")
    summary.add_row("runtime sessions used", str(report["sessions"]))
    at = f" at {report['peak_at'][:19]}" if report["peak_at"] else ""
    summary.add_row("peak concurrent sessions", f"{report['peak_sessions']}{at}")
    summary.add_row("peak invocations / s", str(report["peak_invocations_per_second"]))
    summary.add_row("peak invocations / min", str(report["peak_invocations_per_minute"]))
    summary.add_row("configured quota", str(report["quota"]))
    summary.add_row("headroom at peak", f"{report['headroom']:.1%}")
    summary.add_row(
        "recommended quota",
        f"{report['recommended_quota']} (peak x {report['growth_factor']:g}, "
        f"rounded up to {report['step']})",
    )
    out().print(summary)
    per = table("tenant", "slug", "peak sessions", "at", "sessions used")
    for t in report["by_tenant"]:
        when = (t["peak_at"] or "")[:19]
        per.add_row(
            t["tenant_id"], t["tenant_slug"] or "", str(t["peak_sessions"]), when,
            str(t["sessions"]),
        )  # fmt: skip
    out().print(per)
    verdict = (
        f"increase needed: request {report['recommended_quota']} "
        f"(make ops-quota-request VALUE={report['recommended_quota']}, RUNBOOK-004 step 3)"
        if report["increase_needed"]
        else f"no increase needed: {report['quota']} covers the peak x {report['growth_factor']:g}"
    )
    out().print(verdict)

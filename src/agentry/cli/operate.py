"""`agentry ops jobs|webhooks|sessions|health|metrics|audit export`: what the runbooks need at
3 a.m., through the API with the operator key (AGENTRY_URL, AGENTRY_OPERATOR_KEY from the
environment or .agentry/dev.env). Every change is audited by the platform. Exit codes: 0 ok,
1 the platform refused (the problem's code is printed), 2 bad usage.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from agentry.cli.client import ApiClient, print_json
from agentry.cli.options import Json, Limit, OperatorKey, TenantId, Url
from agentry.cli.output import group, out, table

KEY_ENV = "AGENTRY_OPERATOR_KEY"

jobs_app = group("Jobs of every tenant: list the stuck ones, cancel.")
webhooks_app = group("Webhook dead letters: list, replay.")
sessions_app = group("Runtime sessions per tenant against the account quota: list, stop.")


def _api(url: str | None, key: str | None, as_json: bool, prefix: str = "/v1/admin") -> ApiClient:
    return ApiClient(url, key, KEY_ENV, as_json, prefix=prefix, timeout=60)


def _params(**values: Any) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


# jobs


def _job_row(rows: Any, j: dict[str, Any]) -> None:
    error = (j.get("error") or {}).get("code") or ""
    rows.add_row(
        j["id"], j["tenant_id"], j["agent"], j["status"], str(j["attempts"]),
        f"{j['age_s']:.0f}", error,
    )  # fmt: skip


@jobs_app.command("list")
def jobs_list(
    status: str | None = typer.Option(None, "--status", help="queued, running, failed, ..."),
    tenant_id: TenantId = None,
    agent: str | None = typer.Option(None, "--agent", help="Only this agent."),
    older_than: float | None = typer.Option(None, "--older-than", help="Created over N s ago."),
    limit: Limit = 100,
    url: Url = None,
    key: OperatorKey = None,
    as_json: Json = False,
) -> None:
    """Jobs of every tenant, oldest first (the one waiting longest is the one to look at)."""
    params = _params(
        status=status, tenant_id=tenant_id, agent=agent, older_than_s=older_than, limit=limit
    )
    items = _api(url, key, as_json).call("GET", "/jobs", params=params)["items"]
    if as_json:
        print_json(items)
        return
    rows = table("id", "tenant", "agent", "status", "attempts", "age s", "error")
    for j in items:
        _job_row(rows, j)
    out().print(rows)


@jobs_app.command("cancel")
def jobs_cancel(
    job_id: str = typer.Argument(..., help="Job id (job_...)."),
    url: Url = None,
    key: OperatorKey = None,
    as_json: Json = False,
) -> None:
    """Cancel any tenant's queued or running job; its runtime session is stopped (audited)."""
    job = _api(url, key, as_json).call("POST", f"/jobs/{job_id}/cancel")
    if as_json:
        print_json(job)
    else:
        out().print(f"[green]cancelled[/] {job['id']} ({job['tenant_id']}, {job['agent']})")


# webhooks


@webhooks_app.command("dead-letters")
def dead_letters(
    limit: Limit = 100,
    tenant_id: TenantId = None,
    url: Url = None,
    key: OperatorKey = None,
    as_json: Json = False,
) -> None:
    """Deliveries that failed every attempt, with the last status code and error."""
    items = _api(url, key, as_json).call("GET", "/webhooks/dead-letters", params={"limit": limit})
    items = [d for d in items["items"] if tenant_id is None or d["tenant_id"] == tenant_id]
    if as_json:
        print_json(items)
        return
    rows = table("id", "tenant", "event", "job", "attempts", "status", "error", "url")
    for d in items:
        rows.add_row(
            d["id"], d["tenant_id"], d["event_type"], d["job_id"] or "", str(d["attempts"]),
            str(d["last_status_code"] or ""), d["last_error"] or "", d["url"],
        )  # fmt: skip
    out().print(rows)


@webhooks_app.command("replay")
def replay(
    delivery_id: str = typer.Argument(..., help="Dead letter id (from dead-letters)."),
    url: Url = None,
    key: OperatorKey = None,
    as_json: Json = False,
) -> None:
    """Send one dead letter again, same webhook-id (audited)."""
    done = _api(url, key, as_json).call("POST", f"/webhooks/dead-letters/{delivery_id}/replay")
    if as_json:
        print_json(done)
    else:
        out().print(f"[green]replaying[/] {done['id']} to {done['url']}")


@webhooks_app.command("replay-failed")
def replay_failed(
    since: str | None = typer.Option(None, "--since", help="ISO 8601 (default: 24 h ago)."),
    tenant_id: TenantId = None,
    url: Url = None,
    key: OperatorKey = None,
    as_json: Json = False,
) -> None:
    """Send every failed delivery since a time again, for one tenant or all (audited)."""
    body = _params(since=since, tenant_id=tenant_id)
    done = _api(url, key, as_json).call(
        "POST", "/webhooks/replay", json=body, bad_input=("validation_error",)
    )
    if as_json:
        print_json(done)
    else:
        out().print(f"[green]replaying[/] {done['replayed']} deliveries")


# sessions


@sessions_app.command("list")
def sessions_list(
    tenant_id: TenantId = None,
    url: Url = None,
    key: OperatorKey = None,
    as_json: Json = False,
) -> None:
    """Live runtime sessions, the per-tenant counts and the share of the account quota."""
    report = _api(url, key, as_json).call("GET", "/sessions", params=_params(tenant_id=tenant_id))
    if as_json:
        print_json(report)
        return
    used = len(report["items"]) if tenant_id else round(report["used"] * report["quota"])
    out().print(f"sessions {used} of quota {report['quota']} ({report['used']:.1%} of the account)")
    per = table("tenant", "sessions", "share of quota")
    for t in report["by_tenant"]:
        per.add_row(t["tenant_id"] or "-", str(t["sessions"]), f"{t['share_of_quota']:.1%}")
    out().print(per)
    rows = table("session", "tenant", "runtime", "version", "pid", "status", "inflight")
    for s in report["items"]:
        rows.add_row(
            s["session_id"], s["tenant_id"] or "-", s["runtime_arn"].rsplit("/", 1)[-1],
            s["version"], str(s["pid"]), s["status"], str(s["inflight"]),
        )  # fmt: skip
    out().print(rows)


@sessions_app.command("stop")
def sessions_stop(
    session_id: str = typer.Argument(..., help="Runtime session id (from sessions list)."),
    url: Url = None,
    key: OperatorKey = None,
    as_json: Json = False,
) -> None:
    """Stop one runtime session now; the agent process ends (audited)."""
    done = _api(url, key, as_json).call(
        "POST", "/sessions/stop", json={"session_id": session_id}, bad_input=("validation_error",)
    )
    if as_json:
        print_json(done)
    else:
        out().print(f"[green]stopped[/] {done['session_id']} ({done['tenant_id'] or '-'})")


# one screen


def health(url: Url = None, key: OperatorKey = None, as_json: Json = False) -> None:
    """Readiness, job queues, webhook backlog and sessions; exit 1 when something needs you."""
    report = _api(url, key, as_json).call("GET", "/health")
    if as_json:
        print_json(report)
    else:
        colour = "green" if report["status"] == "ok" else "red"
        out().print(f"[{colour}]{report['status']}[/]")
        checks = table("check", "state")
        for name, state in report["checks"].items():
            checks.add_row(name, state)
        out().print(checks)
        queues = table("queue", "status", "count", "oldest s")
        for area in ("jobs", "webhooks"):
            for status, q in sorted(report[area].items()):
                age = "" if q["oldest_age_s"] is None else f"{q['oldest_age_s']:.0f}"
                queues.add_row(area, status, str(q["count"]), age)
        sessions = report["sessions"]
        queues.add_row("sessions", "live", "-" if sessions is None else str(sessions), "")
        out().print(queues)
        for line in report["attention"]:
            out().print(f"[red]attention[/] {line}")
    raise typer.Exit(0 if report["status"] == "ok" else 1)


def metrics(
    grep: str = typer.Option("agentry_", "--grep", help="Only lines containing this."),
    url: Url = None,
    key: OperatorKey = None,
) -> None:
    """The Prometheus metrics of the API process (the platform's own series only by default)."""
    api = _api(url, key, False, prefix="")
    response = api.client.request("GET", "/metrics")
    for line in response.text.splitlines():
        if grep in line:
            typer.echo(line)


def audit_export(
    tenant_id: TenantId = None,
    out_file: Path | None = typer.Option(None, "--out", help="Write JSON lines here."),
    limit: int = typer.Option(10_000, "--limit", min=1, max=1_000_000, help="At most N events."),
    url: Url = None,
    key: OperatorKey = None,
    as_json: Json = False,
) -> None:
    """The audit trail (one tenant's, or all), newest first, as JSON lines: an evidence bundle."""
    api = _api(url, key, as_json)
    events: list[dict[str, Any]] = []
    before: int | None = None
    while len(events) < limit:
        page = api.call(
            "GET",
            "/audit",
            params=_params(tenant_id=tenant_id, limit=min(100, limit - len(events)),
                           before_seq=before),
        )  # fmt: skip
        events.extend(page["items"])
        before = page["next_before_seq"]
        if before is None:
            break
    lines = "".join(json.dumps(e, ensure_ascii=False, sort_keys=True) + "\n" for e in events)
    if out_file is not None:
        out_file.parent.mkdir(parents=True, exist_ok=True)
        out_file.write_text(lines)
        typer.echo(f"{len(events)} audit events -> {out_file}")
    else:
        typer.echo(lines, nl=False)


def token_issuer(url: Url = None, key: OperatorKey = None, as_json: Json = False) -> None:
    """The invocation-token issuer agents must trust and the key ids it signs with."""
    api = _api(url, key, as_json, prefix="")
    discovery = api.call("GET", "/.well-known/openid-configuration")
    kids = [k.get("kid") for k in api.call("GET", "/.well-known/jwks.json")["keys"]]
    if as_json:
        print_json({"issuer": discovery["issuer"], "jwks_uri": discovery["jwks_uri"], "kids": kids})
        return
    out().print(f"issuer   {discovery['issuer']}")
    out().print(f"jwks_uri {discovery['jwks_uri']}")
    out().print(f"kids     {', '.join(str(k) for k in kids)}")


db_app = group("Backup and restore of the platform database.")


def _api_answers() -> bool:
    import os
    import urllib.request

    from agentry.cli.client import resolve

    base, _ = resolve(None, os.environ.get(KEY_ENV) or "-", KEY_ENV)
    try:
        with urllib.request.urlopen(f"{base}/healthz", timeout=2):
            return True
    except OSError:
        return False


@db_app.command("backup")
def db_backup(
    out_file: Path = typer.Option(..., "--out", help="Write the backup here."),
) -> None:
    """A consistent copy of the database while the platform runs (SQLite online backup, or
    pg_dump for PostgreSQL)."""
    from agentry.config import get_settings
    from agentry.ops.backup import BackupError, backup

    try:
        written = backup(get_settings().effective_database_url, out_file)
    except BackupError as exc:
        typer.echo(f"error backup_failed: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"backup written: {written} ({written.stat().st_size} bytes)")


@db_app.command("restore")
def db_restore(
    source: Path = typer.Option(..., "--from", help="The backup to restore."),
    yes: bool = typer.Option(False, "--yes", help="Confirm: this replaces the database."),
) -> None:
    """Replace the database with a backup. The platform must be stopped (`make dev-down`)."""
    from agentry.config import get_settings
    from agentry.ops.backup import BackupError, restore

    if not yes:
        typer.echo("error confirmation_required: add CONFIRM=yes to restore", err=True)
        raise typer.Exit(2)
    if _api_answers():
        typer.echo("error platform_running: stop it first (make dev-down)", err=True)
        raise typer.Exit(2)
    try:
        restore(get_settings().effective_database_url, source)
    except BackupError as exc:
        typer.echo(f"error restore_failed: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"restored from {source}")

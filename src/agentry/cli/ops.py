"""`agentry ops`: operator tasks (audit: against the database; the rest through the API)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from agentry.cli import (
    billing,
    failover,
    fleet,
    gateway,
    keys,
    operate,
    policies,
    quotas,
    tenants,
    tools,
    usage,
)
from agentry.cli.output import group

if TYPE_CHECKING:
    from agentry.audit.service import Verification

app = group("Operator tasks.")
audit_app = group("The audit log.")
app.add_typer(audit_app, name="audit")
app.add_typer(billing.app, name="billing")
app.add_typer(tenants.app, name="tenants")
app.add_typer(tools.app, name="tools")
app.add_typer(failover.app, name="runtime")
app.add_typer(gateway.app, name="gateway")
app.add_typer(policies.app, name="policies")
app.command("usage")(usage.usage)
app.add_typer(operate.jobs_app, name="jobs")
app.add_typer(operate.webhooks_app, name="webhooks")
app.add_typer(operate.sessions_app, name="sessions")
app.command("health")(operate.health)
app.command("metrics")(operate.metrics)
app.command("token-issuer")(operate.token_issuer)
audit_app.command("export")(operate.audit_export)
app.add_typer(operate.db_app, name="db")
app.add_typer(keys.ops_app, name="keys")
app.add_typer(fleet.agents_app, name="agents")
app.add_typer(fleet.developers_app, name="developers")
app.command("capacity")(fleet.capacity)
app.add_typer(quotas.app, name="quota")


async def _verify() -> Verification:
    # The one command here that reads the database itself: the server modules load only for it.
    from agentry.audit.wiring import build_audit_log
    from agentry.config import get_settings
    from agentry.kit.db.engine import create_engine, create_sessionmaker

    settings = get_settings()
    engine = create_engine(settings.effective_database_url)
    try:
        maker = create_sessionmaker(engine)
        audit = build_audit_log(settings, maker)
        async with maker() as session:
            result = await audit.verify(session)
        if result.ok:
            # Pin the head just verified, so a later truncation or tail rewrite is caught.
            await audit.checkpoint()
        return result
    finally:
        await engine.dispose()


@audit_app.command("verify")
def verify(as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """Check the audit log's hash chain against its signed checkpoints; exit 1 if any row was
    edited, removed, reordered or rewritten, or the tail was truncated. Then checkpoint the head."""
    import asyncio

    result = asyncio.run(_verify())
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "ok": result.ok,
                    "checked": result.checked,
                    "first_bad_seq": result.first_bad_seq,
                    "reason": result.reason,
                    "checkpoints": result.checkpoints,
                }
            )
        )
    elif result.ok:
        typer.echo(
            f"audit chain OK ({result.checked} events, {result.checkpoints} checkpoints matched)"
        )
    else:
        typer.echo(
            f"audit chain BROKEN at seq {result.first_bad_seq}: {result.reason} "
            f"({result.checked} events verified before it)",
            err=True,
        )
    raise typer.Exit(0 if result.ok else 1)


@app.command("login")
def login(
    as_user: str | None = typer.Option(
        None, "--as", help="Dev identity provider only: the seeded user to sign in as."
    ),
    url: str | None = typer.Option(None, "--url", help="API base URL (default $AGENTRY_URL)."),
) -> None:
    """Sign in through the identity provider (auth code + PKCE, loopback redirect) and keep a
    short-lived operator token in $AGENTRY_HOME/operator-token.json (0600) for ops commands."""
    import os

    from agentry.cli.client import err
    from agentry.cli.login import LoginError
    from agentry.cli.login import login as sign_in
    from agentry.kit.envfile import read_env_file

    home = os.environ.get("AGENTRY_HOME", ".agentry")
    base = (
        url
        or os.environ.get("AGENTRY_URL")
        or read_env_file(Path(home) / "dev.env").get("AGENTRY_URL")
    )
    if not base:
        err().print("[red]error[/] set AGENTRY_URL (or pass --url)")
        raise typer.Exit(2)
    try:
        token = sign_in(base, dev_user=as_user, say=lambda line: typer.echo(line, err=True))
    except LoginError as exc:
        err().print(f"[red]error[/] {exc}")
        raise typer.Exit(1) from exc
    typer.echo(f"signed in as {token.subject}; operator token valid until {token.expires_iso}")


@app.command("logout")
def logout() -> None:
    """Forget the stored operator token."""
    from agentry.cli.login import token_path

    token_path().unlink(missing_ok=True)
    typer.echo("signed out")


@app.command("whoami")
def whoami(
    url: str | None = typer.Option(None, "--url", help="API base URL (default $AGENTRY_URL)."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Who operator commands act as: the login (and until when) or the break-glass key."""
    from agentry.cli.client import ApiClient, print_json
    from agentry.cli.login import OPERATOR_KEY_ENV, read_token

    api = ApiClient(url, None, OPERATOR_KEY_ENV, as_json, prefix="", timeout=30)
    me = api.call("GET", "/v1/me")
    token = read_token()
    via_login = token is not None and api.credential == token.access_token
    me["credential"] = "login" if via_login else "break_glass_key"
    me["expires_at"] = token.expires_iso if via_login and token else None
    if as_json:
        print_json(me)
        return
    until = f" until {me['expires_at']}" if via_login else " (audited on every use)"
    typer.echo(
        f"{me['subject']} role {me['role']} in {me['tenant_slug']}: {me['credential']}{until}"
    )

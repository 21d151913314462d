"""`agentry ops`: operator tasks (audit: against the database; the rest through the API)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import typer

from agentry.cli import billing, failover, gateway, tenants, tools, usage
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
app.command("usage")(usage.usage)


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

"""`agentry ops`: operator tasks (audit: against the database; the rest through the API)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import typer

from agentry.cli import tenants, tools, usage
from agentry.cli.output import group

if TYPE_CHECKING:
    from agentry.audit.service import Verification

app = group("Operator tasks.")
audit_app = group("The audit log.")
app.add_typer(audit_app, name="audit")
app.add_typer(tenants.app, name="tenants")
app.add_typer(tools.app, name="tools")
app.command("usage")(usage.usage)


async def _verify() -> Verification:
    # The one command here that reads the database itself: the server modules load only for it.
    from agentry.api_keys.pepper import api_key_pepper
    from agentry.audit.service import AuditLog
    from agentry.config import get_settings
    from agentry.kit.db.engine import create_engine, create_sessionmaker

    settings = get_settings()
    engine = create_engine(settings.effective_database_url)
    try:
        maker = create_sessionmaker(engine)
        async with maker() as session:
            return await AuditLog(maker, api_key_pepper(settings)).verify(session)
    finally:
        await engine.dispose()


@audit_app.command("verify")
def verify(as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """Check the audit log's hash chain; exit 1 if any row was edited, removed or reordered."""
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
                }
            )
        )
    elif result.ok:
        typer.echo(f"audit chain OK ({result.checked} events)")
    else:
        typer.echo(
            f"audit chain BROKEN at seq {result.first_bad_seq}: {result.reason} "
            f"({result.checked} events verified before it)",
            err=True,
        )
    raise typer.Exit(0 if result.ok else 1)

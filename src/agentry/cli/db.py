from __future__ import annotations

import typer

from agentry.cli.output import group

app = group("Database migrations.")


@app.command("upgrade")
def upgrade_cmd(revision: str = typer.Argument("head")) -> None:
    """Apply migrations (SQLite or PostgreSQL, from AGENTRY_DATABASE_URL)."""
    from agentry.config import get_settings
    from agentry.kit.db.migrate import upgrade  # slow import; only this command needs it

    upgrade(get_settings().effective_database_url, revision)
    typer.echo("database is at " + revision)

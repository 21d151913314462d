"""`agentry ops usage` against the real API over HTTP (SQLite)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from decimal import Decimal

from typer.testing import CliRunner

from agentry.cli.main import app as cli
from agentry.kit.db.engine import create_engine, create_sessionmaker, session_scope
from agentry.metering.service import Price, record_usage, usage_row
from agentry.tenants.service import create_tenant


async def _bill(url: str) -> str:
    engine = create_engine(url)
    try:
        async with session_scope(create_sessionmaker(engine)) as session:
            tenant = await create_tenant(session, slug="acme", display_name="Acme", tier="premium")
            await record_usage(
                session,
                usage_row(
                    tenant_id=tenant.id,
                    agent_id="concierge",
                    version_number=1,
                    invocation_id="inv_1",
                    kind="input_tokens",
                    quantity=120,
                    idempotency_key="k1",
                    price=Price(Decimal("0.001")),
                ),
            )
            return tenant.id
    finally:
        await engine.dispose()


def test_operator_reads_usage_across_tenants(api_env: dict[str, str]) -> None:
    tenant_id = asyncio.run(_bill(api_env["AGENTRY_DATABASE_URL"]))
    runner = CliRunner()
    now = datetime.now(UTC).isoformat()
    result = runner.invoke(cli, ["ops", "usage", "--json"], env=api_env)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert [(x["key"], x["quantity"]) for x in report["lines"]] == [(tenant_id, 120)]
    assert Decimal(report["total_cost"]) == Decimal("0.12")

    table = runner.invoke(cli, ["ops", "usage", "--group-by", "agent"], env=api_env)
    assert table.exit_code == 0
    assert "concierge" in table.stdout
    assert "0.12" in table.stdout

    empty = runner.invoke(
        cli, ["ops", "usage", "--json", "--to", "2026-01-01T00:00:00Z"], env=api_env
    )
    assert json.loads(empty.stdout)["lines"] == []

    bad = runner.invoke(cli, ["ops", "usage", "--group-by", "planet"], env=api_env)
    assert bad.exit_code == 2
    backwards = runner.invoke(
        cli, ["ops", "usage", "--from", now, "--to", "2026-01-01T00:00:00+00:00"], env=api_env
    )
    assert backwards.exit_code == 1
    assert "validation_error" in backwards.stderr

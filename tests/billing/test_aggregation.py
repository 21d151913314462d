"""The statement's aggregation path: grouped in the database over the (tenant_id, at) index
range of the month, on both backends (docs/api-billing.md, "At scale")."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from agentry.billing.months import Month
from agentry.billing.repository import StatementRepository

INDEX = "ix_usage_events_tenant_at"


def _driver_value(value: Any, dialect: str) -> Any:
    if isinstance(value, datetime) and dialect == "sqlite":
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return value


async def _plan(session: AsyncSession, query: Any) -> str:
    assert session.bind is not None
    dialect = session.bind.dialect
    compiled = query.compile(dialect=dialect)
    params = tuple(_driver_value(compiled.params[n], dialect.name) for n in compiled.positiontup)
    conn = await session.connection()
    if dialect.name == "postgresql":
        # An empty table is scanned sequentially whatever its indexes: forbid that, to ask
        # whether the index serves the month's predicate at all.
        await conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
        rows = await conn.exec_driver_sql(f"EXPLAIN {compiled}", params)
        return "\n".join(r[0] for r in rows)
    rows = await conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", params)
    return "\n".join(str(r[-1]) for r in rows)


async def test_the_month_query_reads_the_tenant_time_index(session: AsyncSession) -> None:
    month = Month(2026, 11)
    repo = StatementRepository(session, "ten_x")
    plan = await _plan(session, repo.month_query(month.start, month.end))
    assert INDEX in plan, plan
    assert "Seq Scan on usage_events" not in plan
    assert "SCAN usage_events\n" not in plan + "\n"  # SQLite: a search, not a full scan

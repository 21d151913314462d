"""A month of 1,000,000 usage events: every tenant's statement, against a baseline.

Fills a fresh database with N usage rows for one month (spread over 50 tenants, one of them
holding 40%, 4 agents, 3 kinds, each row priced; plus 10% of the rows in the month before, which
the statement must skip), then times every tenant's statement (`build_statements`, what
`make ops-billing-run` runs through the API: one pass over the month) against the baseline of
one plain `SELECT sum(cost)` over the whole table (the least any report over the data must
read), and the biggest tenant's statement alone (`build_statement`, its index range).

    make bench-billing                                  # SQLite and PostgreSQL, 1,000,000 rows
    .venv/bin/python bench/billing_month.py --rows 200000 --database sqlite
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import text

from agentry.billing.months import Month
from agentry.billing.service import build_statement, build_statements
from agentry.kit.db.engine import create_engine, create_sessionmaker, session_scope
from agentry.kit.db.migrate import upgrade_async
from agentry.tenants.repository import TenantRepository
from agentry.tenants.service import create_tenant

MONTH = Month(2026, 11)
TENANTS = 50

# Row i: tenant i%50 (tenant 0 also takes every 5th row: ~40%), agent i%4, kind i%3,
# spread over the month second by second; rows past N go to October.
_FILL = """
INSERT INTO usage_events
  (tenant_id, agent_id, version_number, invocation_id, kind, model, quantity, unit_price,
   cost, price_id, idempotency_key, at)
SELECT
  CASE WHEN i % 5 = 0 THEN 'ten_bench000' ELSE 'ten_bench' || {pad} END,
  'agt_' || (i % 4), 1, 'inv_' || (i / 3),
  CASE i % 3 WHEN 0 THEN 'input_tokens' WHEN 1 THEN 'output_tokens' ELSE 'tool_call' END,
  CASE i % 3 WHEN 2 THEN NULL ELSE 'local-large' END,
  (i % 997) + 1, 0.000002, ((i % 997) + 1) * 0.000002, 'prc_bench', 'bench-' || i,
  {at}
FROM {series}
"""


def _sql(dialect: str, rows: int, extra: int) -> str:
    total = rows + extra
    if dialect == "postgresql":
        pad = "lpad((i % 50)::text, 3, '0')"
        at = (
            f"CASE WHEN i < {rows} THEN timestamptz '2026-11-01 00:00:00+00' "
            "+ make_interval(secs => (i * 2.592)::int % 2592000) "
            "ELSE timestamptz '2026-10-15 00:00:00+00' END"
        )
        series = f"generate_series(0, {total - 1}) AS g(i)"
    else:
        pad = "substr('000' || (i % 50), -3, 3)"
        at = (
            f"CASE WHEN i < {rows} THEN strftime('%Y-%m-%d %H:%M:%S', '2026-11-01', "
            "'+' || ((i * 2592 / 1000) % 2592000) || ' seconds') || '.000000' "
            "ELSE '2026-10-15 00:00:00.000000' END"
        )
        series = (
            "(WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL "
            f"SELECT i + 1 FROM s WHERE i < {total - 1}) SELECT i FROM s)"
        )
    return _FILL.format(pad=pad, at=at, series=series)


async def run(url: str, rows: int, rounds: int) -> dict[str, float]:
    await upgrade_async(url)
    engine = create_engine(url)
    maker = create_sessionmaker(engine)
    dialect = engine.dialect.name
    try:
        async with session_scope(maker) as s:
            for n in range(TENANTS):
                tenant = await create_tenant(
                    s, slug=f"bench{n:03d}", display_name=f"b{n}", tier="basic"
                )
                await s.execute(
                    text("UPDATE tenants SET id = :new WHERE id = :old"),
                    {"new": f"ten_bench{n:03d}", "old": tenant.id},
                )
        started = time.perf_counter()
        async with engine.begin() as conn:
            await conn.execute(text(_sql(dialect, rows, rows // 10)))
            if dialect == "postgresql":
                await conn.execute(text("ANALYZE usage_events"))
        fill_s = time.perf_counter() - started
        async with maker() as s:
            tenants = list(await TenantRepository(s).list())
        statements, baseline, biggest = [], [], []
        for _ in range(rounds):
            t0 = time.perf_counter()
            async with maker() as s:
                await s.execute(text("SELECT sum(cost) FROM usage_events"))
            baseline.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            async with maker() as s:
                built = await build_statements(s, tenants, MONTH, "USD")
            statements.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            async with maker() as s:
                one = await build_statement(s, tenants[0], MONTH, "USD")
            biggest.append(time.perf_counter() - t0)
        events = sum(line.events for st in built for line in st.lines)
        assert events == rows, (events, rows)  # October's rows are not on November's statements
        assert one == next(st for st in built if st.tenant_id == one.tenant_id)
        return {
            "fill_s": fill_s,
            "statements_s": statistics.median(statements),
            "baseline_s": statistics.median(baseline),
            "biggest_s": statistics.median(biggest),
        }
    finally:
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(
            "AGENTRY_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
    )
    args = parser.parse_args()
    before = args.rows // 10
    print(f"{args.rows:,} usage rows in {MONTH} (+{before:,} the month before), {TENANTS} tenants")
    print(
        "| database | fill | every tenant's statement (make ops-billing-run) | baseline: "
        "sum(cost) over the table | ratio | the biggest tenant's alone (40% of rows) |"
    )
    print("|---|---|---|---|---|---|")
    if args.database in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            r = asyncio.run(
                run(f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}", args.rows, args.rounds)
            )
            _row("SQLite", r)
    if args.database in ("postgresql", "both"):
        name = f"agentry_bench_{os.getpid()}"
        asyncio.run(_admin(args.postgres_url, f'CREATE DATABASE "{name}"'))
        try:
            base = args.postgres_url.rsplit("/", 1)[0].replace(
                "postgresql://", "postgresql+asyncpg://"
            )
            r = asyncio.run(run(f"{base}/{name}", args.rows, args.rounds))
            _row("PostgreSQL", r)
        finally:
            asyncio.run(_admin(args.postgres_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _admin(url: str, sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _row(name: str, r: dict[str, float]) -> None:
    ratio = r["statements_s"] / r["baseline_s"]
    print(
        f"| {name} | {r['fill_s']:.1f} s | {r['statements_s'] * 1000:.0f} ms | "
        f"{r['baseline_s'] * 1000:.0f} ms | {ratio:.2f} | {r['biggest_s'] * 1000:.0f} ms |"
    )


if __name__ == "__main__":
    main()

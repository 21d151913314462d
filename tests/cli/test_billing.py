"""`agentry ops billing run` (make ops-billing-run) against the real API over HTTP: JSON, CSV,
Parquet and PNG per tenant, each opened; a re-run is byte-identical; an adjustment changes it."""

from __future__ import annotations

import asyncio
import csv
import hashlib
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq
from PIL import Image
from typer.testing import CliRunner

from agentry.billing.exports import FILES
from agentry.billing.prices import PriceBook
from agentry.cli.main import app as cli
from agentry.config import Settings
from agentry.kit.db.engine import create_engine, create_sessionmaker, session_scope
from agentry.tenants.service import create_tenant
from tests.billing.helpers import record

NOV = datetime(2026, 11, 7, 9, 30, tzinfo=UTC)


async def _usage(url: str) -> dict[str, str]:
    engine = create_engine(url)
    maker = create_sessionmaker(engine)
    book = PriceBook.from_mapping(Settings().price_book)
    ids = {}
    try:
        for slug, tier, n in (("acme", "premium", 3), ("globex", "basic", 2)):
            async with session_scope(maker) as s:
                tenant = await create_tenant(s, slug=slug, display_name=slug, tier=tier)
            ids[slug] = tenant.id
            for i in range(n):
                for kind, qty in (("input_tokens", 1200 + i), ("tool_call", i + 1)):
                    await record(
                        maker,
                        book,
                        tenant_id=tenant.id,
                        tier=tier,
                        key=f"{slug}{i}{kind}",
                        kind=kind,
                        quantity=qty,
                        at=NOV.replace(day=7 + i),
                        model="local-large" if kind == "input_tokens" else None,
                    )
        return ids
    finally:
        await engine.dispose()


def _digests(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_billing_run_writes_four_files_per_tenant(api_env: dict[str, str], tmp_path: Path) -> None:
    ids = asyncio.run(_usage(api_env["AGENTRY_DATABASE_URL"]))
    out = tmp_path / "billing"
    runner = CliRunner()
    args = ["ops", "billing", "run", "--month", "2026-11", "--out", str(out), "--json"]
    result = runner.invoke(cli, args, env=api_env)
    assert result.exit_code == 0, result.output
    summary = {x["tenant_slug"]: x for x in json.loads(result.stdout)}
    assert {"acme", "globex", "ops"} <= set(summary)

    acme = out / "2026-11" / "acme"
    assert sorted(p.name for p in acme.iterdir()) == sorted(FILES)
    statement = json.loads((acme / "statement.json").read_text())
    assert statement["tenant_id"] == ids["acme"]
    assert ids["globex"] not in (acme / "statement.json").read_text()
    # premium: 3 x ~1200 input tokens at 0.000001 + 6 tool calls at 0.0005
    assert Decimal(statement["usage_total"]) == Decimal("0.003603") + Decimal("0.003")

    rows = list(csv.DictReader((acme / "statement.csv").open()))
    usage_rows = [r for r in rows if r["section"] == "usage"]
    assert sum(Decimal(r["amount"]) for r in usage_rows) == Decimal(statement["usage_total"])
    assert next(r for r in rows if r["section"] == "total_due")["amount"] == statement["total_due"]

    table = pq.read_table(acme / "statement.parquet")
    assert table.num_rows == len(statement["lines"])
    assert sum(table.column("amount").to_pylist()) == Decimal(statement["usage_total"])
    assert table.schema.metadata[b"agentry.total"].decode() == statement["total"]

    with Image.open(acme / "daily-spend.png") as png:
        assert png.format == "PNG"
        assert png.size == (800, 320)

    first = _digests(out)
    again = runner.invoke(cli, args, env=api_env)
    assert again.exit_code == 0
    assert _digests(out) == first  # byte-identical

    adjust = [
        "ops",
        "billing",
        "adjust",
        ids["acme"],
        "--month",
        "2026-11",
        "--amount",
        "-0.002",
        "--reason",
        "goodwill credit",
    ]
    assert runner.invoke(cli, adjust, env=api_env).exit_code == 0
    assert runner.invoke(cli, args, env=api_env).exit_code == 0
    changed = _digests(out)
    assert changed["2026-11/acme/statement.json"] != first["2026-11/acme/statement.json"]
    assert changed["2026-11/globex/statement.json"] == first["2026-11/globex/statement.json"]
    assert "goodwill credit" in (acme / "statement.csv").read_text()

    future = runner.invoke(cli, ["ops", "billing", "run", "--month", "2099-01"], env=api_env)
    assert future.exit_code == 1
    assert "month_in_future" in future.stderr

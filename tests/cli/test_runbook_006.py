"""RUNBOOK-006 as written: every `make` line of docs/runbooks/RUNBOOK-006-budgets.md runs, in
order, against a running API, for a tenant that is over its budget; the tenant is admitted
again afterwards and the month's statements are on disk."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import httpx

from agentry.api_keys.service import issue_key
from agentry.billing.months import Month
from agentry.billing.prices import PriceBook
from agentry.config import Settings
from agentry.identity.principal import Role
from agentry.kit.db.engine import create_engine, create_sessionmaker, session_scope
from agentry.models import TenantBudget
from agentry.tenants.service import create_tenant
from tests.billing.helpers import record

ROOT = Path(__file__).parents[2]
RUNBOOK = ROOT / "docs" / "runbooks" / "RUNBOOK-006-budgets.md"


def runbook_commands() -> list[str]:
    blocks = re.findall(r"```sh\n(.*?)```", RUNBOOK.read_text(), flags=re.S)
    lines = [line.strip() for block in blocks for line in block.splitlines()]
    return [line for line in lines if line.startswith("make ")]


async def _over_budget(url: str) -> tuple[str, str]:
    """A tenant with a budget of 1 that has spent 1.05 this month, and its member key."""
    engine = create_engine(url)
    maker = create_sessionmaker(engine)
    try:
        async with session_scope(maker) as s:
            tenant = await create_tenant(s, slug="runaway", display_name="Runaway", tier="premium")
            s.add(TenantBudget(tenant_id=tenant.id, monthly_limit=1, updated_by="test"))
            key = await issue_key(s, tenant, name="m", role=Role.member, pepper=b"cli-pepper")
        await record(
            maker,
            PriceBook.from_mapping(Settings().price_book),
            tenant_id=tenant.id,
            tier="premium",
            key="burst",
            kind="tool_call",
            quantity=2100,
            at=datetime.now(UTC),
        )
        return tenant.id, key.secret
    finally:
        await engine.dispose()


def test_runbook_lists_only_make_targets_that_exist() -> None:
    commands = runbook_commands()
    assert len(commands) == 7
    targets = {c.split()[1] for c in commands}
    makefile = (ROOT / "Makefile").read_text()
    for target in targets:
        assert re.search(rf"^{re.escape(target)}:", makefile, flags=re.M), target


def test_runbook_006_brings_an_over_budget_tenant_back(
    api_env: dict[str, str], tmp_path: Path
) -> None:
    tenant_id, member = asyncio.run(_over_budget(api_env["AGENTRY_DATABASE_URL"]))
    invoke = f"{api_env['AGENTRY_URL']}/v1/agents/nope/invoke"
    headers = {"Authorization": f"Bearer {member}"}
    assert httpx.post(invoke, json={"input": {}}, headers=headers).status_code == 402

    env = {k: v for k, v in os.environ.items() if not k.startswith(("AGENTRY_", "MAKE"))}
    env.update(api_env)
    env.update(
        TENANT=tenant_id,
        MONTH=str(Month.current()),
        NEW_LIMIT="2",
        NEW_CEILING="5",
        WHY="PO 4471 approved",
        CREDIT="-0.05",
        MAKEFLAGS="-s --no-print-directory",
    )
    outputs = []
    for command in runbook_commands():
        if "ops-billing-run" in command:
            command += f" OUT={tmp_path / 'billing'}"
        done = subprocess.run(
            ["bash", "-c", command],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, (command, done.stdout, done.stderr)
        outputs.append(done.stdout)

    show, statement, raised, reinstated, adjusted, verify, run = outputs
    assert "exhausted" in show
    assert "1.050000000" in show
    assert "tool_call" in statement
    assert "ok" in raised
    assert "reinstated" in reinstated
    assert "-0.05" in adjusted
    assert "reinstated" in verify
    assert "runaway" in run
    folder = tmp_path / "billing" / str(Month.current()) / "runaway"
    assert (folder / "statement.json").exists()
    credit = json.loads((folder / "statement.json").read_text())["adjustments"]
    assert [(a["amount"], a["reason"]) for a in credit] == [("-0.050000000", "PO 4471 approved")]
    assert httpx.post(invoke, json={"input": {}}, headers=headers).status_code == 404  # admitted

"""RUNBOOK-000 as written, on the runbook platform: `make dev` (re)starts it cleanly, the
health screen and tenants answer, the logs are JSON, `make dev-down` stops everything; then
`make dev` brings it back for the other runbooks."""

from __future__ import annotations

import json

import httpx
import pytest

from agentry.kit.envfile import read_env_file
from agentry.testing.stack import Stack
from tests.runbooks.pages import page
from tests.runbooks.support import Operator, follow

pytestmark = pytest.mark.e2e


def _ready(stack: Stack) -> bool:
    try:
        return httpx.get(f"{stack.url}/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.mark.timeout(600)  # two restarts of the whole platform; seconds on an idle machine
def test_runbook_000_starts_checks_and_stops_the_platform(
    ops_stack: Stack, operator: Operator
) -> None:
    steps = page("000").steps()
    assert steps == [
        "make dev", "make ops-health", "make ops-tenants", "make dev-logs", "make dev-down"
    ]  # fmt: skip
    up, health, tenants = (operator.make(line).stdout for line in steps[:3])
    ops_stack.creds = read_env_file(ops_stack.home / "dev.env")
    assert "Agentry is up" in up
    assert "ok" in health
    assert "database" in health
    assert "acme" in tenants
    assert "globex" in tenants
    logs = follow(operator, steps[3], seconds=3, until="{")
    lines = [json.loads(x) for x in logs.splitlines() if x.startswith("{")]
    assert lines, logs[-2000:]
    assert all("level" in x for x in lines)

    try:
        operator.make(steps[4])
        assert not _ready(ops_stack)
        down = operator.make("make ops-health", ok=False)
        assert down.returncode != 0
        assert "unreachable" in down.stderr
    finally:
        operator.make(steps[0])  # back up for the other runbooks
        ops_stack.creds = read_env_file(ops_stack.home / "dev.env")
    assert _ready(ops_stack)

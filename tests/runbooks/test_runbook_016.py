"""RUNBOOK-016 as written: a registered MCP server goes down; refresh says so; the operator
lists targets and tools, and removes the target, whose tools disappear."""

from __future__ import annotations

import pytest

from tests.gateway.mcp_remote import directory_server
from tests.runbooks.pages import page
from tests.runbooks.support import Operator, run_page

pytestmark = pytest.mark.e2e


def test_runbook_016_removes_a_dead_target(operator: Operator) -> None:
    remote = directory_server().start()
    try:
        added = operator.json(f"make ops-tool-target-add NAME=crm URL={remote.url}")
        assert {t["name"] for t in added["tools"]} == {"crm___whois", "crm___add"}
    finally:
        remote.stop()
    down = operator.make("make ops-tool-target-refresh NAME=crm", ok=False)
    assert down.returncode != 0
    assert "tool_target_unreachable" in down.stderr

    targets, tools, removed = run_page(operator, page("016").steps())
    assert "crm___whois" in targets
    assert "crm___whois" in tools
    assert "crm" in removed
    assert "crm___whois" not in {t["name"] for t in operator.json("make ops-tools")}
    gone = operator.make("make ops-tool-target-remove NAME=crm", ok=False)
    assert "tool_target_not_found" in gone.stderr

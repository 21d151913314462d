"""RUNBOOK-014 as written: a tenant and a tool are switched off at once and back on."""

from __future__ import annotations

import httpx
import pytest

from agentry.testing.stack import Stack
from tests.runbooks.pages import page
from tests.runbooks.support import Operator, run_page

pytestmark = pytest.mark.e2e
TOOL = "insights___forecast"


def _invoke(client: httpx.Client) -> httpx.Response:
    return client.post("/v1/agents/echo/invoke", json={"input": {"prompt": "hi"}})


def test_runbook_014_switches_a_tenant_and_a_tool_off_and_on(
    ops_stack: Stack, operator: Operator
) -> None:
    (globex_id,) = [t["id"] for t in operator.json("make ops-tenants") if t["slug"] == "globex"]
    tiers = {t["name"]: t["tiers"] for t in operator.json("make ops-tools")}[TOOL]
    assert tiers
    globex, acme = ops_stack.client(ops_stack.globex_key), ops_stack.client(ops_stack.acme_key)
    assert _invoke(globex).status_code == 200

    shell = {"TENANT": globex_id, "TOOL": TOOL, "TIERS": ",".join(tiers)}
    steps = page("014").steps()
    off, back = steps[:-2], steps[-2:]
    tenants, tools, suspended, granted, tenants_after, tools_after = run_page(
        operator, off, **shell
    )
    assert "active" in tenants
    assert TOOL in tools
    assert "suspended" in suspended
    assert "suspended" in tenants_after
    assert {t["name"]: t["tiers"] for t in operator.json("make ops-tools")}[TOOL] == []
    assert _invoke(globex).json()["code"] == "tenant_suspended"
    assert _invoke(acme).status_code == 200  # the other tenant is untouched
    assert granted is not None
    assert tools_after is not None

    run_page(operator, back, **shell)
    assert _invoke(globex).status_code == 200
    assert {t["name"]: t["tiers"] for t in operator.json("make ops-tools")}[TOOL] == tiers


def test_ops_metrics_prints_the_domain_series(operator: Operator) -> None:
    out = operator.make("make ops-metrics GREP=agentry_jobs").stdout
    assert 'agentry_jobs{status="queued"}' in out
    assert "agentry_http_requests_total" not in out

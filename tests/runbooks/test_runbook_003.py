"""RUNBOOK-003 as written: suspend a tenant, export its evidence, verify the audit chain,
then back out; the other tenant is never affected."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from agentry.testing.stack import Stack
from tests.runbooks.pages import page
from tests.runbooks.support import Operator, run_page

pytestmark = pytest.mark.e2e


def _invoke(client: httpx.Client) -> httpx.Response:
    return client.post("/v1/agents/echo/invoke", json={"input": {"prompt": "hi"}})


def test_runbook_003_suspends_and_bundles_evidence(
    ops_stack: Stack, operator: Operator, tmp_path: Path
) -> None:
    (globex_id,) = [t["id"] for t in operator.json("make ops-tenants") if t["slug"] == "globex"]
    globex, acme = ops_stack.client(ops_stack.globex_key), ops_stack.client(ops_stack.acme_key)
    assert _invoke(globex).status_code == 200
    assert globex.get("/v1/admin/audit").status_code == 403

    suspended, exported, usage, verified, reactivated = run_page(
        operator, page("003").steps(), TENANT=globex_id, EVIDENCE=str(tmp_path)
    )
    assert "suspended" in suspended
    assert "reactivated" in reactivated
    events = [json.loads(x) for x in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert f"-> {tmp_path / 'audit.jsonl'}" in exported
    assert events[0]["action"] == "tenant.suspend"
    assert all(globex_id in (e["actor_tenant_id"], e["target_tenant_id"]) for e in events)
    assert json.loads(usage)["lines"] is not None
    assert "audit chain OK" in verified
    assert _invoke(globex).status_code == 200  # backed out by the last step

    operator.make(f"make ops-tenant-suspend TENANT={globex_id}")  # step 1 alone: it bites
    assert _invoke(globex).json()["code"] == "tenant_suspended"
    assert _invoke(acme).status_code == 200
    operator.make(f"make ops-tenant-reactivate TENANT={globex_id}")

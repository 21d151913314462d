"""RUNBOOK-013 as written: two tenants' jobs run; the operator finds them across tenants and
cancels one tenant's job without the tenant's key; the other tenant's job is untouched."""

from __future__ import annotations

import pytest

from agentry.testing.stack import Stack
from tests.jobs.support import wait_job
from tests.runbooks.pages import page
from tests.runbooks.support import Operator, run_page

pytestmark = pytest.mark.e2e
SLOW = {"input": {"steps": 600, "step_s": 1}}


def test_runbook_013_cancels_a_runaway_job_across_tenants(
    ops_stack: Stack, operator: Operator
) -> None:
    steps = page("013").steps()
    assert steps[0] == "make ops-health"
    acme, globex = ops_stack.client(ops_stack.acme_key), ops_stack.client(ops_stack.globex_key)
    mine = acme.post("/v1/agents/longrun/jobs", json=SLOW).json()["id"]
    theirs = globex.post("/v1/agents/longrun/jobs", json=SLOW).json()["id"]
    for client, job in ((acme, mine), (globex, theirs)):
        wait_job(client, job, until=lambda j: j["status"] == "running", timeout_s=30)

    running = operator.json("make ops-jobs STATUS=running")
    tenants = {j["id"]: j["tenant_id"] for j in running}
    assert mine in tenants
    assert theirs in tenants
    assert tenants[mine] != tenants[theirs]
    assert operator.json("make ops-health")["jobs"]["running"]["count"] >= 2

    health, waiting, listed, cancelled, after, health_after = run_page(
        operator, steps, JOB=mine, TENANT=tenants[mine]
    )
    assert "database" in health
    assert "running" in health
    assert mine not in waiting  # created seconds ago: not over the 600 s line
    assert mine in listed
    assert theirs in listed
    assert f"cancelled {mine}" in cancelled
    assert mine in after
    assert theirs not in after
    assert "ok" in health_after

    assert acme.get(f"/v1/jobs/{mine}").json()["status"] == "cancelled"
    assert globex.get(f"/v1/jobs/{theirs}").json()["status"] == "running"
    again = operator.make(f"make ops-job-cancel JOB={mine}", ok=False)
    assert again.returncode != 0
    assert "job_finished" in again.stderr
    audit = operator.make(f"make ops-audit-export TENANT={tenants[mine]}").stdout
    assert '"action": "job.cancel"' in audit
    assert mine in audit
    operator.make(f"make ops-job-cancel JOB={theirs}")  # leave the stack idle

"""RUNBOOK-002 as written: sessions are counted per tenant against the quota; the operator
stops a tenant's session and suspends the tenant without its key; backing out reactivates."""

from __future__ import annotations

import pytest

from agentry.testing.stack import Stack
from tests.runbooks.pages import page
from tests.runbooks.support import Operator, run_page

pytestmark = pytest.mark.e2e


def _tenant(operator: Operator, slug: str) -> str:
    (found,) = [t["id"] for t in operator.json("make ops-tenants") if t["slug"] == slug]
    return str(found)


def test_runbook_002_stops_a_runaway_tenants_session(ops_stack: Stack, operator: Operator) -> None:
    acme_id, globex_id = _tenant(operator, "acme"), _tenant(operator, "globex")
    acme, globex = ops_stack.client(ops_stack.acme_key), ops_stack.client(ops_stack.globex_key)
    for client in (acme, globex):
        answer = client.post(
            "/v1/agents/echo/invoke", json={"input": {"prompt": "hi"}, "session_id": "rb-002"}
        )
        assert answer.status_code == 200, answer.text
    report = operator.json(f"make ops-sessions TENANT={acme_id}")
    counts = {t["tenant_id"]: t["sessions"] for t in report["by_tenant"]}
    assert counts[acme_id] >= 1
    assert counts[globex_id] >= 1
    assert report["quota"] == 1000
    assert {s["tenant_id"] for s in report["items"]} == {acme_id}
    session = report["items"][0]["session_id"]
    assert session.startswith(acme_id)
    assert acme.get("/v1/admin/sessions").status_code == 403  # operators only

    others = [s["session_id"] for s in operator.json("make ops-sessions")["items"]]
    theirs = [s for s in others if s.startswith(globex_id)]
    try:
        every, one, stopped, suspended, logs, after = run_page(
            operator, page("002").steps(), TENANT=acme_id, SESSION=session, AGENT="echo"
        )
    finally:
        operator.make(f"make ops-tenant-reactivate TENANT={acme_id}")  # backing out
    assert "of quota 1000" in every
    assert globex_id in every
    assert session in one
    assert theirs
    assert not [s for s in theirs if s in one]  # the sessions table is acme's only
    assert f"stopped {session}" in stopped
    assert "suspended" in suspended
    assert "of quota 1000" in after
    assert session not in after
    assert logs is not None
    audit = operator.make(f"make ops-audit-export TENANT={acme_id}").stdout
    assert '"action": "runtime.session_stop"' in audit
    assert '"action": "tenant.suspend"' in audit
    again = acme.post(
        "/v1/agents/echo/invoke", json={"input": {"prompt": "back"}, "session_id": "rb-002"}
    )
    assert again.status_code == 200, again.text

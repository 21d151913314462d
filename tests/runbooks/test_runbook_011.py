"""RUNBOOK-011 as written: an onboarded tenant with data is erased; its rows are gone and the
audit chain still verifies."""

from __future__ import annotations

import pytest

from agentry.testing.stack import Stack
from tests.runbooks.pages import page
from tests.runbooks.support import Operator, run_page

pytestmark = pytest.mark.e2e


def test_runbook_011_erases_a_tenant(ops_stack: Stack, operator: Operator) -> None:
    created = operator.json("make ops-tenant-onboard SLUG=leaver NAME='Leaver Ltd'")
    tenant_id, key = created["id"], created["admin_key"]
    leaver = ops_stack.client(key)
    assert leaver.post("/v1/api-keys", json={"name": "second"}).status_code == 201
    refused = operator.make(f"make ops-tenant-erase TENANT={tenant_id}", ok=False)
    assert refused.returncode != 0
    assert "confirmation_required" in refused.stderr

    listed, erased, after, verified = run_page(operator, page("011").steps(), TENANT=tenant_id)
    assert "leaver" in listed
    assert f"erased {tenant_id}" in erased
    assert "leaver" not in after
    assert "audit chain OK" in verified
    assert leaver.get("/v1/agents").status_code == 401
    audit = operator.make("make ops-audit-export").stdout
    assert '"action": "tenant.erase"' in audit
    assert tenant_id not in audit  # pseudonymised

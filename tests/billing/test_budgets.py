"""Monthly budgets: 80% warns once (webhook + audit), 100% refuses new work with 402
`budget_exhausted`, operators raise or reinstate, tenant admins stay under the ceiling."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from agentry.identity.principal import Role
from agentry.kit.clock import utcnow
from agentry.models import AuditEvent, WebhookDelivery
from agentry.testing.inproc import InProcApp
from tests.billing.helpers import record

BUDGETS = "/v1/admin/tenants/{}/billing/budget"


async def _spend(api: InProcApp, tenant_id: str, key: str, tool_calls: int) -> None:
    """Premium tool calls at 0.0005 each."""
    await record(
        api.platform.sessionmaker,
        api.platform.prices,
        tenant_id=tenant_id,
        tier="premium",
        key=key,
        kind="tool_call",
        quantity=tool_calls,
        at=utcnow(),
    )


async def _rows(api: InProcApp, model: Any, *where: Any) -> list[Any]:
    async with api.platform.sessionmaker() as s:
        return list((await s.execute(select(model).where(*where))).scalars().all())


async def test_warn_at_80_refuse_at_100_raise_and_reinstate(billing_api: InProcApp) -> None:
    api = billing_api
    acme, globex = await api.tenant("acme"), await api.tenant("globex")
    op = (await api.key(await api.tenant("ops"), Role.operator)).secret
    member = (await api.key(acme, Role.member)).secret
    admin = (await api.key(acme, Role.admin)).secret
    other = (await api.key(globex, Role.member)).secret
    async with api.client(admin) as c:
        hook = await c.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/billing"})
    assert hook.status_code in (200, 201), hook.text

    async with api.client(op) as c:
        set_ = await c.put(BUDGETS.format(acme.id), json={"monthly_limit": "1", "ceiling": "5"})
    assert set_.status_code == 200, set_.text
    assert set_.json()["status"] == "ok"

    await _spend(api, acme.id, "s1", 1700)  # 0.85: over 80%
    await _spend(api, globex.id, "g1", 5000)  # globex has no budget
    async with api.client(member) as c:
        r = await c.post("/v1/agents/nope/invoke", json={"input": {}})
        assert r.json()["code"] == "agent_not_found"  # admitted: 85% only warns
        await c.post("/v1/agents/nope/invoke", json={"input": {}})
        assert (await c.get("/v1/billing/budget")).json()["status"] == "warning"

    warnings = await _rows(api, WebhookDelivery, WebhookDelivery.event_type == "budget.warning")
    assert len(warnings) == 1  # once a month, not once a request
    assert warnings[0].tenant_id == acme.id
    assert warnings[0].payload["data"]["spent"] == "0.850000000"
    audited = await _rows(api, AuditEvent, AuditEvent.action == "budget.warning")
    assert [a.target_tenant_id for a in audited] == [acme.id]

    await _spend(api, acme.id, "s2", 400)  # 1.05: over budget
    async with api.client(member) as c:
        refused = await c.post("/v1/agents/nope/invoke", json={"input": {}})
        job = await c.post("/v1/agents/nope/jobs", json={"input": {}})
        stream = await c.post("/v1/agents/nope/stream", json={"input": {}})
    for r in (refused, job, stream):
        assert r.status_code == 402, r.text
        assert r.json()["code"] == "budget_exhausted"
        assert r.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["spent"] == "1.050000000"
    assert (
        len(await _rows(api, WebhookDelivery, WebhookDelivery.event_type == "budget.exhausted"))
        == 1
    )
    async with api.client(other) as c:  # another tenant is not touched by acme's budget
        assert (await c.post("/v1/agents/nope/invoke", json={"input": {}})).status_code == 404

    async with api.client(admin) as c:  # tenant admin: at most the ceiling
        above = await c.put("/v1/billing/budget", json={"monthly_limit": "6"})
        assert (above.status_code, above.json()["code"]) == (422, "budget_above_ceiling")
        raised = await c.put("/v1/billing/budget", json={"monthly_limit": "2"})
        assert raised.status_code == 200
        assert raised.json()["status"] == "ok"
        assert (await c.post("/v1/agents/nope/invoke", json={"input": {}})).status_code == 404
        # Below what is spent already: allowed, and it refuses at once.
        low = await c.put("/v1/billing/budget", json={"monthly_limit": "0.5"})
        assert low.json()["status"] == "exhausted"
        assert (await c.post("/v1/agents/nope/invoke", json={"input": {}})).status_code == 402
    async with api.client(member) as c:
        r = await c.put("/v1/billing/budget", json={"monthly_limit": "5"})
        assert r.status_code == 403  # members read, admins set

    async with api.client(op) as c:
        no_reason = await c.post(f"/v1/admin/tenants/{acme.id}/billing/reinstate", json={})
        assert (no_reason.status_code, no_reason.json()["code"]) == (422, "reason_required")
        back = await c.post(
            f"/v1/admin/tenants/{acme.id}/billing/reinstate", json={"reason": "PO 4471 approved"}
        )
        assert back.json()["status"] == "reinstated"
        nobody = await c.post(
            f"/v1/admin/tenants/{globex.id}/billing/reinstate", json={"reason": "x"}
        )
        assert (nobody.status_code, nobody.json()["code"]) == (404, "budget_not_found")
    async with api.client(member) as c:
        assert (await c.post("/v1/agents/nope/invoke", json={"input": {}})).status_code == 404
    actions = [a.action for a in await _rows(api, AuditEvent, AuditEvent.action.like("billing.%"))]
    assert actions.count("billing.budget_set") == 3
    assert "billing.reinstate" in actions


async def test_bad_budgets_and_other_tenants(billing_api: InProcApp) -> None:
    api = billing_api
    acme, globex = await api.tenant("acme"), await api.tenant("globex")
    op = (await api.key(await api.tenant("ops"), Role.operator)).secret
    async with api.client(op) as c:
        for body, code in (
            ({"monthly_limit": "-1"}, "invalid_amount"),
            ({"monthly_limit": "ten"}, "invalid_amount"),
            ({"monthly_limit": "NaN"}, "invalid_amount"),
            ({"monthly_limit": "10", "ceiling": "5"}, "budget_above_ceiling"),
        ):
            r = await c.put(BUDGETS.format(acme.id), json=body)
            assert (r.status_code, r.json()["code"]) == (422, code), body
        assert (await c.get(BUDGETS.format(acme.id))).json()["status"] == "none"  # nothing kept
        missing = await c.put(BUDGETS.format("ten_nobody"), json={"monthly_limit": "1"})
        assert missing.status_code == 404
        await c.put(BUDGETS.format(globex.id), json={"monthly_limit": "3"})
    admin = (await api.key(acme, Role.admin)).secret
    async with api.client(admin) as c:
        mine = (await c.get("/v1/billing/budget")).json()
        assert mine["tenant_id"] == acme.id
        assert mine["monthly_limit"] is None  # not globex's 3
        assert (await c.get(BUDGETS.format(globex.id))).status_code == 403
        assert (
            await c.put(BUDGETS.format(globex.id), json={"monthly_limit": "9"})
        ).status_code == 403

"""Policy sets through the API: publish (validated), shadow, enforce, roll back; per tenant
and for the platform; roles; audit; problem+json codes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from agentry.identity.principal import Role
from agentry.models import AuditEvent
from agentry.testing.inproc import InProcApp

PERMIT_ALL = "permit(principal, action, resource);"
FORBID_LONGRUN = (
    PERMIT_ALL
    + '\nforbid(principal, action == Agentry::Action::"InvokeAgent",'
    + ' resource == Agentry::Agent::"longrun");'
)


async def _admin(api: InProcApp, slug: str, role: Role = Role.admin) -> tuple[str, str]:
    tenant = await api.tenant(slug)
    return tenant.id, (await api.key(tenant, role)).secret


async def _audit(api: InProcApp, prefix: str) -> list[AuditEvent]:
    async with api.platform.sessionmaker() as session:
        rows = await session.execute(
            select(AuditEvent).where(AuditEvent.action.startswith(prefix)).order_by(AuditEvent.seq)
        )
        return list(rows.scalars())


async def test_publish_shadow_enforce_rollback_and_isolation(api: InProcApp) -> None:
    a_id, a_key = await _admin(api, "pa")
    b_id, b_key = await _admin(api, "pb")
    engine = api.app.state.policies.engine
    async with api.client(a_key) as a, api.client(b_key) as b:
        r = await a.post("/v1/policies/versions", json={"text": PERMIT_ALL, "note": "baseline"})
        assert r.status_code == 201, r.text
        assert r.json()["number"] == 1
        r = await a.post("/v1/policies/versions", json={"text": FORBID_LONGRUN})
        assert r.json()["number"] == 2
        # Published is not in force.
        state = (await a.get("/v1/policies")).json()
        assert state["enforced_version"] is None
        assert [v["number"] for v in state["versions"]] == [1, 2]
        # Tenant B sees none of it, and cannot reach A's versions.
        assert (await b.get("/v1/policies")).json()["versions"] == []
        assert (await b.get("/v1/policies/versions/2")).status_code == 404
        assert (await b.post("/v1/policies/versions/2/enforce")).json()["code"] == (
            "policy_version_not_found"
        )

        assert (await a.post("/v1/policies/versions/1/enforce")).status_code == 200
        r = await a.post("/v1/policies/versions/2/shadow")
        assert r.json()["shadow_version"] == 2
        installed = engine.installed(a_id)
        assert (installed.enforced.number, installed.shadow.number) == (1, 2)
        assert engine.installed(b_id) is None

        r = await a.post("/v1/policies/versions/2/enforce")
        state = r.json()
        assert (state["enforced_version"], state["shadow_version"]) == (2, None)
        r = await a.post("/v1/policies/rollback", json={})
        assert r.json()["enforced_version"] == 1
        assert engine.installed(a_id).enforced.number == 1
        r = await a.post("/v1/policies/rollback", json={"version": 2})
        assert r.json()["enforced_version"] == 2
        r = await a.delete("/v1/policies/enforced")
        assert r.json()["enforced_version"] is None
        assert engine.installed(a_id) is None

        text = (await a.get("/v1/policies/versions/2")).json()["text"]
        assert text == FORBID_LONGRUN
    actions = [
        (e.action, e.details.get("to"), e.actor_tenant_id) for e in await _audit(api, "policy.")
    ]
    assert ("policy.enforce", 1, a_id) in actions
    assert ("policy.rollback", 1, a_id) in actions
    assert ("policy.shadow", 2, a_id) in actions
    assert all(t == a_id for _, _, t in actions)


async def test_invalid_cedar_is_a_problem_with_a_stable_code(api: InProcApp) -> None:
    _, key = await _admin(api, "pc")
    async with api.client(key) as c:
        r = await c.post("/v1/policies/versions", json={"text": "permit(principal action"})
        assert r.status_code == 422
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["code"] == "policy_invalid"
        r = await c.post(
            "/v1/policies/versions",
            json={"text": "permit(principal, action, resource) when { resource.owner == 1 };"},
        )
        assert r.json()["code"] == "policy_invalid"
        assert any("owner" in e for e in r.json()["errors"])
        assert (await c.get("/v1/policies")).json()["versions"] == []
        r = await c.post("/v1/policies/rollback", json={})
        assert (r.status_code, r.json()["code"]) == (409, "policy_no_previous_version")
        schema = await c.get("/v1/policies/schema")
        assert "action InvokeAgent" in schema.text


async def test_a_policy_locking_out_admins_needs_force_and_is_audited(api: InProcApp) -> None:
    _, key = await _admin(api, "pd")
    deny_all = {"text": "forbid(principal, action, resource);"}
    async with api.client(key) as c:
        r = await c.post("/v1/policies/versions", json=deny_all)
        assert (r.status_code, r.json()["code"]) == (409, "policy_locks_out_admins")
        r = await c.post("/v1/policies/versions", json={**deny_all, "force": True})
        assert r.status_code == 201
    events = await _audit(api, "policy.publish")
    assert [(e.outcome, e.details.get("forced_lockout")) for e in events] == [
        ("denied", None),
        ("success", True),
    ]


async def test_roles_members_cannot_and_only_operators_manage_the_platform_set(
    api: InProcApp,
) -> None:
    _, member = await _admin(api, "pe", Role.member)
    _, admin = await _admin(api, "pf")
    _, operator = await _admin(api, "pg", Role.operator)
    async with api.client(member) as c:
        r = await c.post("/v1/policies/versions", json={"text": PERMIT_ALL})
        assert (r.status_code, r.json()["code"]) == (403, "insufficient_role")
    async with api.client(admin) as c:
        r = await c.post("/v1/admin/policies/versions", json={"text": PERMIT_ALL})
        assert r.status_code == 403
    async with api.client(operator) as c:
        r = await c.post("/v1/admin/policies/versions", json={"text": PERMIT_ALL})
        assert r.status_code == 201, r.text
        state: dict[str, Any] = (await c.get("/v1/admin/policies")).json()
        assert [v["number"] for v in state["versions"]] == [1]
        r = await c.post(
            "/v1/admin/policies/versions",
            json={"text": 'permit(principal, action, resource) when { context.role == "x" };'},
        )
        assert r.json()["code"] == "policy_locks_out_admins"  # would deny the operators

"""`GET /v1/audit` (tenant admins) and `GET /v1/admin/audit`: filters by action and time,
paging, tenant isolation and bad filters."""

from __future__ import annotations

from agentry.identity.principal import Role
from agentry.kit.db.engine import session_scope
from agentry.models import Tenant
from agentry.testing.inproc import InProcApp


async def _event(api: InProcApp, tenant: Tenant, action: str) -> None:
    async with session_scope(api.platform.sessionmaker) as session:
        await api.platform.audit.append(
            session,
            actor="key:test",
            action=action,
            actor_tenant_id=tenant.id,
            target_tenant_id=tenant.id,
            details={"n": action},
        )


async def test_tenant_audit_filters_by_action_and_time_and_pages(api: InProcApp) -> None:
    acme, globex = await api.tenant("acme"), await api.tenant("globex", tier="basic")
    for action in ("keys.create", "keys.revoke", "webhooks.create", "keys.create"):
        await _event(api, acme, action)
    await _event(api, globex, "keys.create")
    async with api.client((await api.key(acme, Role.admin)).secret) as c:
        everything = (await c.get("/v1/audit", params={"limit": 100})).json()["items"]
        assert all(e["actor_tenant_id"] == acme.id for e in everything)  # never globex's
        exact = (await c.get("/v1/audit", params={"action": "keys.create"})).json()["items"]
        assert [e["action"] for e in exact] == ["keys.create", "keys.create"]
        prefix = (await c.get("/v1/audit", params={"action": "keys."})).json()["items"]
        assert [e["action"] for e in prefix] == ["keys.create", "keys.revoke", "keys.create"]
        assert (await c.get("/v1/audit", params={"action": "keys"})).json()["items"] == []

        mine = [e for e in everything if e["action"] in ("keys.revoke", "webhooks.create")]
        revoke = next(e for e in mine if e["action"] == "keys.revoke")
        webhook = next(e for e in mine if e["action"] == "webhooks.create")
        assert revoke["at"] < webhook["at"]
        window = {"from": revoke["at"], "to": webhook["at"]}  # `to` is exclusive
        timed = (await c.get("/v1/audit", params=window)).json()["items"]
        assert [e["action"] for e in timed] == ["keys.revoke"]
        later = (await c.get("/v1/audit", params={"from": webhook["at"]})).json()["items"]
        assert [e["action"] for e in later][-1] == "webhooks.create"
        assert "keys.revoke" not in [e["action"] for e in later]

        first = (await c.get("/v1/audit", params={"action": "keys.", "limit": 2})).json()
        assert len(first["items"]) == 2
        assert first["next_before_seq"] == first["items"][-1]["seq"]
        rest = (
            await c.get(
                "/v1/audit",
                params={"action": "keys.", "limit": 2, "before_seq": first["next_before_seq"]},
            )
        ).json()
        assert [e["action"] for e in rest["items"]] == ["keys.create"]
        assert rest["next_before_seq"] is None
    async with api.client((await api.key(globex, Role.admin)).secret) as c:
        theirs = (await c.get("/v1/audit", params={"action": "keys."})).json()["items"]
        assert len(theirs) == 1
        assert theirs[0]["actor_tenant_id"] == globex.id
    async with api.client((await api.key(acme, Role.member)).secret) as c:
        assert (await c.get("/v1/audit")).status_code == 403


async def test_operator_audit_takes_the_same_filters(api: InProcApp) -> None:
    acme, ops = await api.tenant("acme"), await api.tenant("ops")
    await _event(api, acme, "keys.create")
    await _event(api, acme, "webhooks.create")
    async with api.client((await api.key(ops, Role.operator)).secret) as c:
        r = await c.get("/v1/admin/audit", params={"tenant_id": acme.id, "action": "webhooks."})
        assert [e["action"] for e in r.json()["items"]] == ["webhooks.create"]


async def test_bad_audit_filters_are_422_problems(api: InProcApp) -> None:
    acme = await api.tenant("acme")
    await _event(api, acme, "keys.create")
    async with api.client((await api.key(acme, Role.admin)).secret) as c:
        at = (await c.get("/v1/audit")).json()["items"][0]["at"]
        for params in (
            {"from": "2026-11-02T00:00:00Z", "to": "2026-11-01T00:00:00Z"},  # backwards
            {"from": at, "to": at},  # empty
            {"from": "2026-11-01T00:00:00"},  # no time zone
            {"to": "tomorrow"},
            {"action": "Keys Create"},
            {"action": "x" * 101},
        ):
            r = await c.get("/v1/audit", params=params)
            assert r.status_code == 422, (params, r.text)
            assert r.headers["content-type"].startswith("application/problem+json")
            assert r.json()["code"] == "validation_error"

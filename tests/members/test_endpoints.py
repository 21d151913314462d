"""Members and invitations: tenant-scoped (two tenants on every route), admin-only, audited."""

from __future__ import annotations

from sqlalchemy import select

from agentry.identity.principal import Role
from agentry.kit.db.engine import session_scope
from agentry.models import AuditEvent
from agentry.testing.inproc import InProcApp


async def _admins(api: InProcApp) -> tuple[str, str]:
    acme, globex = await api.tenant("acme"), await api.tenant("globex")
    return (await api.key(acme)).secret, (await api.key(globex)).secret


async def test_invite_list_change_role_remove(api: InProcApp) -> None:
    acme, _ = await _admins(api)
    async with api.client(acme) as c:
        r = await c.post("/v1/members", json={"email": "Dana@Acme.example", "role": "developer"})
        assert r.status_code == 201, r.text
        member = r.json()
        assert member["email"] == "dana@acme.example"  # lower-cased
        assert (member["role"], member["status"]) == ("developer", "invited")
        assert [m["id"] for m in (await c.get("/v1/members")).json()["items"]] == [member["id"]]

        r = await c.patch(f"/v1/members/{member['id']}", json={"role": "admin"})
        assert r.status_code == 200
        assert r.json()["role"] == "admin"
        assert (await c.get(f"/v1/members/{member['id']}")).json()["role"] == "admin"

        assert (await c.delete(f"/v1/members/{member['id']}")).status_code == 200
        assert (await c.get("/v1/members")).json()["items"] == []
        gone = await c.get(f"/v1/members/{member['id']}")
    assert gone.status_code == 404
    assert gone.json()["code"] == "member_not_found"
    async with session_scope(api.platform.sessionmaker) as s:
        actions = (await s.execute(select(AuditEvent.action))).scalars().all()
    assert {"member.invite", "member.role", "member.remove"} <= set(actions)


async def test_another_tenants_member_is_never_reachable(api: InProcApp) -> None:
    acme, globex = await _admins(api)
    async with api.client(acme) as a, api.client(globex) as g:
        mine = (await a.post("/v1/members", json={"email": "x@acme.example"})).json()
        # The same address may be a member of two tenants: they are separate records.
        assert (await g.post("/v1/members", json={"email": "x@acme.example"})).status_code == 201
        assert [m["id"] for m in (await g.get("/v1/members")).json()["items"]] != [mine["id"]]
        url = f"/v1/members/{mine['id']}"
        for r in (
            await g.get(url),
            await g.patch(url, json={"role": "admin"}),
            await g.delete(url),
        ):
            assert r.status_code == 404, r.text
            assert r.json()["code"] == "member_not_found"
        # Untouched by globex's attempts.
        still = await a.get(url)
    assert still.status_code == 200
    assert still.json()["role"] == "member"


async def test_bad_input_and_duplicates(api: InProcApp) -> None:
    acme, _ = await _admins(api)
    async with api.client(acme) as c:
        for body in (
            {"email": "not-an-address"},
            {"email": "a@b.example", "role": "operator"},  # not grantable by a tenant
            {"email": "a@b.example", "extra": 1},
        ):
            r = await c.post("/v1/members", json=body)
            assert r.status_code == 422, body
            assert r.headers["content-type"].startswith("application/problem+json")
        assert (await c.post("/v1/members", json={"email": "a@b.example"})).status_code == 201
        dup = await c.post("/v1/members", json={"email": "A@B.example"})
        bad_id = await c.get("/v1/members/not-an-id")
    assert dup.status_code == 409
    assert dup.json()["code"] == "member_exists"
    assert bad_id.status_code == 422


async def test_members_cannot_manage_members(api: InProcApp) -> None:
    tenant = await api.tenant("acme")
    member = await api.key(tenant, Role.member)
    async with api.client(member.secret) as c:
        assert (await c.get("/v1/members")).status_code == 403
        assert (await c.post("/v1/members", json={"email": "a@b.example"})).status_code == 403
    async with api.client() as c:
        assert (await c.get("/v1/members")).status_code == 401

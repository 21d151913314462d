"""API key lifecycle over the API: shown once, hash only, revoke, rotation overlap, expiry."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from agentry.api_keys import keys
from agentry.identity.principal import Role
from agentry.kit.clock import utcnow
from agentry.models import ApiKey, AuditEvent
from agentry.testing.inproc import TEST_PEPPER, InProcApp


async def _status(api: InProcApp, secret: str, path: str = "/v1/me") -> int:
    async with api.client(secret) as c:
        return (await c.get(path)).status_code


async def test_key_lifecycle(api: InProcApp) -> None:
    tenant = await api.tenant("acme")
    admin = (await api.key(tenant)).secret
    async with api.client(admin) as c:
        created = await c.post("/v1/api-keys", json={"name": "ci", "scopes": ["invoke"]})
        assert created.status_code == 201, created.text
        body = created.json()
        secret = body["secret"]
        assert keys.well_formed(secret)
        listed = (await c.get("/v1/api-keys")).text
        assert secret not in listed
        assert body["id"] in listed

    async with api.platform.sessionmaker() as session:
        row = (await session.execute(select(ApiKey).where(ApiKey.id == body["id"]))).scalar_one()
        stored = [str(getattr(row, col.key)) for col in ApiKey.__table__.columns]
    assert row.key_hash == keys.hash_key(secret, TEST_PEPPER.encode())
    assert not any(secret in value for value in stored)
    assert row.scopes == ["invoke"]
    assert row.role == "member"

    assert await _status(api, secret) == 200
    assert await _status(api, secret, "/v1/api-keys") == 403  # invoke-only key

    async with api.client(admin) as c:
        rotated = await c.post(f"/v1/api-keys/{body['id']}/rotate", json={})
        assert rotated.status_code == 201, rotated.text
        new_secret = rotated.json()["secret"]
        assert rotated.json()["scopes"] == ["invoke"]
    assert await _status(api, secret) == 200  # overlap: both work
    assert await _status(api, new_secret) == 200

    async with api.client(admin) as c:
        again = await c.post(
            f"/v1/api-keys/{rotated.json()['id']}/rotate", json={"old_key_expires_in_s": 0}
        )
        assert again.status_code == 201
    assert await _status(api, new_secret) == 401  # old key expired now, at once

    async with api.client(admin) as c:
        assert (await c.delete(f"/v1/api-keys/{body['id']}")).status_code == 200
    r_status = await _status(api, secret)
    assert r_status == 401  # revoke takes effect at once despite the auth cache

    async with api.platform.sessionmaker() as session:
        actions = list(
            (await session.execute(select(AuditEvent.action).order_by(AuditEvent.seq))).scalars()
        )
    assert actions.count("api_key.create") == 1
    assert actions.count("api_key.rotate") == 2
    assert "api_key.revoke" in actions
    assert "auth.failed" in actions
    assert "authz.denied" in actions


async def test_expired_key_is_refused(api: InProcApp) -> None:
    tenant = await api.tenant("acme")
    expired = await api.key(tenant, expires_at=utcnow() - timedelta(seconds=1))
    async with api.client(expired.secret) as c:
        r = await c.get("/v1/me")
    assert r.status_code == 401
    assert r.json()["code"] == "invalid_api_key"


async def test_bad_bodies_and_scope_escalation(api: InProcApp) -> None:
    tenant = await api.tenant("acme")
    admin = (await api.key(tenant)).secret
    member = (await api.key(tenant, role=Role.member)).secret
    async with api.client(admin) as c:
        for extra in ({"tenant_id": "ten_x"}, {"role": "operator"}, {"tier": "premium"}):
            r = await c.post("/v1/api-keys", json={"name": "x", **extra})
            assert r.status_code == 422, (extra, r.text)
        r = await c.post("/v1/api-keys", json={"name": "x", "scopes": ["platform:admin"]})
        assert r.status_code == 403
        assert r.json()["code"] == "scope_not_grantable"
        r = await c.post("/v1/api-keys", json={"name": "x", "expires_at": "2001-01-01T00:00:00Z"})
        assert r.status_code == 422
        assert (await c.delete("/v1/api-keys/key_doesnotexist")).status_code == 404
    async with api.client(member) as c:
        assert (await c.post("/v1/api-keys", json={"name": "x"})).status_code == 403
        assert (await c.get("/v1/audit")).status_code == 403
        assert (await c.get("/v1/admin/tenants")).status_code == 403
        assert (await c.delete("/v1/admin/tenants/ten_secret")).status_code == 403
    async with api.platform.sessionmaker() as session:
        denied = (
            (await session.execute(select(AuditEvent).where(AuditEvent.action == "authz.denied")))
            .scalars()
            .all()
        )
    routes = {e.details["route"] for e in denied}
    assert {"/v1/api-keys", "/v1/audit", "/v1/admin/tenants/{tenant_id}"} <= routes
    assert all(e.outcome == "denied" and e.request_id for e in denied)

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agentry.api_keys.service import ApiKeyAuthenticator, InvalidApiKey, TenantSuspended
from agentry.identity.principal import Role, Scope
from agentry.kit.clock import utcnow
from agentry.models import ApiKey
from tests.factories import PEPPER, make_key, make_tenant


async def test_only_the_hash_is_stored(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    async with sessionmaker() as session:
        tenant = await make_tenant(session)
        issued = await make_key(session, tenant)
        await session.commit()
        stored = (await session.execute(select(ApiKey))).scalars().all()
    assert len(stored) == 1
    row = stored[0]
    assert issued.secret not in (row.key_hash, row.display_prefix, row.name)
    assert row.key_hash != issued.secret
    assert issued.secret.startswith(row.display_prefix)


async def test_authenticate_returns_tenant_and_role(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with sessionmaker() as session:
        tenant = await make_tenant(session, tier="premium")
        issued = await make_key(session, tenant, role=Role.member)
        await session.commit()
    auth = ApiKeyAuthenticator(sessionmaker, PEPPER)
    principal = await auth.authenticate(issued.secret)
    assert principal.tenant_id == tenant.id
    assert principal.tier == "premium"
    assert principal.role is Role.member
    assert principal.has(Scope.invoke)
    assert not principal.has(Scope.keys_admin)


async def test_unknown_revoked_and_expired_keys_are_refused(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with sessionmaker() as session:
        tenant = await make_tenant(session)
        revoked = await make_key(session, tenant)
        revoked.key.revoked_at = utcnow()
        expired = await make_key(session, tenant, expires_at=utcnow() - timedelta(seconds=1))
        await session.commit()
    auth = ApiKeyAuthenticator(sessionmaker, PEPPER)
    from agentry.api_keys import keys

    with pytest.raises(InvalidApiKey, match="not valid"):
        await auth.authenticate(keys.generate())
    with pytest.raises(InvalidApiKey, match="revoked"):
        await auth.authenticate(revoked.secret)
    with pytest.raises(InvalidApiKey, match="expired"):
        await auth.authenticate(expired.secret)
    with pytest.raises(InvalidApiKey, match="malformed"):
        await auth.authenticate("not-a-key")


async def test_suspended_tenant_is_refused(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with sessionmaker() as session:
        tenant = await make_tenant(session)
        issued = await make_key(session, tenant)
        tenant.status = "suspended"
        await session.commit()
    with pytest.raises(TenantSuspended):
        await ApiKeyAuthenticator(sessionmaker, PEPPER).authenticate(issued.secret)


async def test_last_used_is_flushed_in_a_batch(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with sessionmaker() as session:
        tenant = await make_tenant(session)
        issued = await make_key(session, tenant)
        await session.commit()
    auth = ApiKeyAuthenticator(sessionmaker, PEPPER)
    for _ in range(3):
        await auth.authenticate(issued.secret)
    async with sessionmaker() as session:
        row = await session.get(ApiKey, issued.key.id)
        assert row is not None
        assert row.last_used_at is None
    await auth.flush()
    async with sessionmaker() as session:
        row = await session.get(ApiKey, issued.key.id)
        assert row is not None
        assert row.last_used_at is not None


async def test_a_verified_key_is_trusted_for_the_cache_window_only(
    sessionmaker: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    async with sessionmaker() as session:
        tenant = await make_tenant(session)
        issued = await make_key(session, tenant)
        await session.commit()
    now = [1000.0]
    monkeypatch.setattr("agentry.api_keys.service.monotonic", lambda: now[0])
    auth = ApiKeyAuthenticator(sessionmaker, PEPPER, cache_s=2.0)
    await auth.authenticate(issued.secret)
    async with sessionmaker() as session:  # revoked by another process: no cache drop here
        row = await session.get(ApiKey, issued.key.id)
        assert row is not None
        row.revoked_at = utcnow()
        await session.commit()
    now[0] += 1.9
    assert (await auth.authenticate(issued.secret)).key_id == issued.key.id  # still cached
    now[0] += 0.2
    with pytest.raises(InvalidApiKey, match="revoked"):
        await auth.authenticate(issued.secret)

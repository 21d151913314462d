from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agentry.audit.service import AuditLog, Outcome, Verification
from agentry.kit.db.engine import session_scope
from agentry.models import AuditEvent

KEY = b"audit-test-key"


async def _fill(log: AuditLog, n: int, tenant: str = "ten_a") -> None:
    for i in range(n):
        await log.append_now(
            actor="key:key_1",
            action="api_key.create",
            actor_tenant_id=tenant,
            target_tenant_id=tenant,
            details={"key_id": f"key_{i}"},
        )


async def _verify(maker: async_sessionmaker[AsyncSession], log: AuditLog) -> Verification:
    async with maker() as session:
        return await log.verify(session)


async def test_chain_links_and_verifies(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    log = AuditLog(sessionmaker, KEY)
    await _fill(log, 5)
    result = await _verify(sessionmaker, log)
    assert result.ok
    assert result.checked == 5
    async with sessionmaker() as session:
        rows = (await session.execute(select(AuditEvent).order_by(AuditEvent.seq))).scalars().all()
    assert [r.seq for r in rows] == [1, 2, 3, 4, 5]
    assert all(rows[i].prev_hash == rows[i - 1].hash for i in range(1, 5))


@pytest.mark.parametrize(
    "change",
    [
        {"outcome": "denied"},
        {"details": {"key_id": "key_forged"}},
        {"actor": "key:someone_else"},
        {"target_tenant_id": "ten_b"},
    ],
)
async def test_an_edited_row_is_detected(
    sessionmaker: async_sessionmaker[AsyncSession], change: dict[str, object]
) -> None:
    log = AuditLog(sessionmaker, KEY)
    await _fill(log, 4)
    async with session_scope(sessionmaker) as session:
        await session.execute(update(AuditEvent).where(AuditEvent.seq == 2).values(**change))
    result = await _verify(sessionmaker, log)
    assert not result.ok
    assert result.first_bad_seq == 2


async def test_a_deleted_row_is_detected(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    log = AuditLog(sessionmaker, KEY)
    await _fill(log, 4)
    async with session_scope(sessionmaker) as session:
        row = (await session.execute(select(AuditEvent).where(AuditEvent.seq == 3))).scalar_one()
        await session.delete(row)
    result = await _verify(sessionmaker, log)
    assert not result.ok
    assert result.first_bad_seq == 4


async def test_erasing_a_tenant_pseudonymises_and_keeps_the_chain(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    log = AuditLog(sessionmaker, KEY)
    await _fill(log, 2, tenant="ten_gone")
    await _fill(log, 1, tenant="ten_stays")
    async with session_scope(sessionmaker) as session:
        await log.erase_tenant(session, "ten_gone")
    async with sessionmaker() as session:
        tenants = (await session.execute(select(AuditEvent.actor_tenant_id))).scalars().all()
    assert "ten_gone" not in tenants
    assert "ten_stays" in tenants
    assert tenants.count(log.pseudonym("ten_gone")) == 2
    assert (await _verify(sessionmaker, log)).ok


async def test_concurrent_appends_form_one_linear_chain(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    log = AuditLog(sessionmaker, KEY)
    await asyncio.gather(*[_fill(log, 3, tenant=f"ten_{i}") for i in range(5)])
    result = await _verify(sessionmaker, log)
    assert result.ok
    assert result.checked == 15


@pytest.mark.parametrize("name", ["token", "api_key", "secret", "payload", "Authorization", "key"])
async def test_details_refuse_secret_or_content_fields(
    sessionmaker: async_sessionmaker[AsyncSession], name: str
) -> None:
    log = AuditLog(sessionmaker, KEY)
    with pytest.raises(ValueError, match="may not carry"):
        await log.append_now(actor="x", action="y", details={name: "v"}, outcome=Outcome.denied)

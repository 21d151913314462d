"""Retention: expired idempotency keys and old stream events are purged, newer ones kept."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agentry.config import Settings
from agentry.invocations.housekeeping import Housekeeper
from agentry.kit.clock import utcnow
from agentry.models import IdempotencyRecord, StreamEvent
from tests.factories import make_tenant


async def test_purge_keeps_streams_for_the_retention_after_their_deadline(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    settings = Settings(stream_timeout_s=60, stream_retention_s=300)
    now = utcnow()
    async with sessionmaker() as session:
        tenant = await make_tenant(session)
        for inv, age in (("inv_old", 361), ("inv_new", 359)):
            session.add(
                StreamEvent(
                    invocation_id=inv,
                    seq=0,
                    tenant_id=tenant.id,
                    event="start",
                    data="{}",
                    created_at=now - timedelta(seconds=age),
                )
            )
        for key, expires in (("gone", -1), ("kept", 60)):
            session.add(
                IdempotencyRecord(
                    id=f"idk_{key}",
                    tenant_id=tenant.id,
                    key=key,
                    request_hash="h",
                    invocation_id="inv_x",
                    state="done",
                    expires_at=now + timedelta(seconds=expires),
                )
            )
        await session.commit()
    assert await Housekeeper(sessionmaker, settings).purge_once() == (1, 1)
    async with sessionmaker() as session:
        events = (await session.execute(select(StreamEvent.invocation_id))).scalars().all()
        keys = (await session.execute(select(IdempotencyRecord.key))).scalars().all()
        assert await session.scalar(select(func.count()).select_from(StreamEvent)) == 1
    assert events == ["inv_new"]
    assert keys == ["kept"]

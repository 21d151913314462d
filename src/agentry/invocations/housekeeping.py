"""Periodic purge of expired idempotency keys and stream events (every API replica runs it;
the deletes are idempotent)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agentry.config import Settings
from agentry.invocations.repository import purge_expired
from agentry.kit.clock import utcnow
from agentry.kit.db.engine import session_scope
from agentry.kit.logging import get_logger
from agentry.kit.periodic import Periodic

PURGE_INTERVAL_S = 60.0
log = get_logger("agentry.invocations.housekeeping")


class Housekeeper:
    def __init__(self, maker: async_sessionmaker[AsyncSession], settings: Settings) -> None:
        self._maker = maker
        # Every stream has ended (deadline) `stream_retention_s` before its events go.
        self._stream_age = timedelta(
            seconds=settings.stream_timeout_s + settings.stream_retention_s
        )
        self._poller = Periodic("invocations-housekeeping", PURGE_INTERVAL_S, self._tick)

    def start(self) -> None:
        self._poller.start()

    async def stop(self) -> None:
        await self._poller.stop()

    async def purge_once(self) -> tuple[int, int]:
        now = utcnow()
        async with session_scope(self._maker) as session:
            return await purge_expired(
                session, idempotency_before=now, streams_before=now - self._stream_age
            )

    async def _tick(self) -> None:
        keys, events = await self.purge_once()
        if keys or events:
            log.info("purged", idempotency_keys=keys, stream_events=events)

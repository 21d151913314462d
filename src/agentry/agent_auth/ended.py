"""Ended invocations: once an invocation finishes, every token it was given is refused.

A token lives up to `invocation_token_ttl_s`; without this a leaked token would keep working
after its invocation ended. The end is written to `ended_invocations` (in the caller's
transaction for jobs, at once for sync calls) and noted in this process at once; other API
replicas learn it within `REFRESH_S` by polling. Rows go once every token has expired.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agentry.agent_auth.repository import EndedInvocationRepository
from agentry.agent_auth.tokens import MAX_TTL_S
from agentry.kit.clock import utcnow
from agentry.kit.db.engine import session_scope
from agentry.kit.periodic import Periodic

REFRESH_S = 1.0
PURGE_EVERY = 60  # refreshes
# Rows are read with this overlap so a row committed late (ended_at stamped before a slow
# commit) is still seen.
OVERLAP = timedelta(seconds=5)
KEEP = timedelta(seconds=MAX_TTL_S + 60)


async def end_invocation(session: AsyncSession, invocation_id: str) -> None:
    """Record the end in the caller's transaction (jobs: with their terminal status)."""
    now = utcnow()
    await EndedInvocationRepository(session).end(invocation_id, now, now + KEEP)


async def end_invocations(session: AsyncSession, invocation_ids: Sequence[str]) -> None:
    """`end_invocation` for many (jobs finishing together), in one statement."""
    now = utcnow()
    await EndedInvocationRepository(session).end_many(invocation_ids, now, now + KEEP)


class EndedInvocations:
    def __init__(self, maker: async_sessionmaker[AsyncSession]) -> None:
        self._maker = maker
        self._ended: dict[str, float] = {}  # invocation id -> forget after (monotonic)
        self._since: datetime | None = None
        self._rounds = 0
        self._poller = Periodic("ended-invocations", REFRESH_S, self._tick)

    def __call__(self, invocation_id: str) -> bool:
        return invocation_id in self._ended

    def _note(self, invocation_id: str) -> None:
        self._ended[invocation_id] = time.monotonic() + KEEP.total_seconds()

    async def end(self, invocation_id: str) -> None:
        """End an invocation now (its own transaction) and refuse its tokens here at once."""
        self._note(invocation_id)
        async with session_scope(self._maker) as session:
            await end_invocation(session, invocation_id)

    async def refresh(self) -> None:
        started = utcnow()
        since = (self._since - OVERLAP) if self._since else started - KEEP
        async with self._maker() as session:
            ended = await EndedInvocationRepository(session).ended_since(since)
        for invocation_id in ended:
            if invocation_id not in self._ended:
                self._note(invocation_id)
        self._since = started
        now = time.monotonic()
        for invocation_id in [i for i, until in self._ended.items() if until < now]:
            del self._ended[invocation_id]

    async def purge(self) -> int:
        async with session_scope(self._maker) as session:
            return await EndedInvocationRepository(session).purge(utcnow())

    async def _tick(self) -> None:
        self._rounds += 1
        await self.refresh()
        if self._rounds % PURGE_EVERY == 0:
            await self.purge()

    def start(self) -> None:
        self._poller.start()

    async def stop(self) -> None:
        await self._poller.stop()

"""Ended invocations on both databases: noted at once here, seen by other replicas on refresh,
purged once every token has expired."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agentry.agent_auth.ended import EndedInvocations, end_invocation
from agentry.agent_auth.repository import EndedInvocationRepository
from agentry.kit.clock import utcnow
from agentry.kit.db.engine import session_scope
from agentry.models import EndedInvocation


async def _count(maker: async_sessionmaker[AsyncSession]) -> int:
    async with maker() as s:
        return int(
            (await s.execute(select(func.count()).select_from(EndedInvocation))).scalar_one()
        )


async def test_end_is_immediate_here_and_reaches_other_replicas_on_refresh(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    here, there = EndedInvocations(sessionmaker), EndedInvocations(sessionmaker)
    await there.refresh()
    assert not here("inv_1")
    await here.end("inv_1")
    assert here("inv_1")
    assert not there("inv_1")  # not yet polled
    await there.refresh()
    assert there("inv_1")
    assert not there("inv_2")


async def test_ending_twice_keeps_one_row_and_jobs_end_in_their_transaction(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    registry = EndedInvocations(sessionmaker)
    await registry.end("inv_1")
    await registry.end("inv_1")
    assert await _count(sessionmaker) == 1
    try:
        async with session_scope(sessionmaker) as session:
            await end_invocation(session, "job_rolled_back")
            raise RuntimeError("the job's transaction fails")
    except RuntimeError:
        pass
    await registry.refresh()
    assert not registry("job_rolled_back")
    assert await _count(sessionmaker) == 1


async def test_purge_removes_rows_whose_tokens_have_all_expired(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    now = utcnow()
    async with session_scope(sessionmaker) as session:
        repo = EndedInvocationRepository(session)
        await repo.end("old", now - timedelta(hours=3), now - timedelta(hours=1))
        await repo.end("recent", now, now + timedelta(hours=1))
    assert await EndedInvocations(sessionmaker).purge() == 1
    async with sessionmaker() as session:
        left = await EndedInvocationRepository(session).ended_since(now - timedelta(days=1))
    assert list(left) == ["recent"]

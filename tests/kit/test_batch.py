"""Group commit: many callers' rows in one transaction; a conflict fails only its own caller."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agentry.kit.db.batch import GroupCommit
from agentry.models import Tenant


def _tenant(slug: str) -> Tenant:
    return Tenant(id=f"t_{slug}", slug=slug, display_name=slug)


async def _slugs(maker: async_sessionmaker[AsyncSession]) -> set[str]:
    async with maker() as s:
        return set((await s.scalars(select(Tenant.slug).where(Tenant.slug.like("gc-%")))).all())


async def test_concurrent_inserts_share_transactions_and_all_land(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    group = GroupCommit(sessionmaker)
    await asyncio.gather(*(group.insert([_tenant(f"gc-{i}")]) for i in range(50)))
    await group.close()
    assert await _slugs(sessionmaker) == {f"gc-{i}" for i in range(50)}
    assert group.transactions < 50  # batched: fewer transactions than callers


async def test_a_conflicting_caller_fails_alone_and_the_others_commit(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    group = GroupCommit(sessionmaker)
    await group.insert([_tenant("gc-taken")])
    duplicate = Tenant(id="t_other", slug="gc-taken", display_name="dup")
    results = await asyncio.gather(
        group.insert([_tenant("gc-a")]),
        group.insert([duplicate, _tenant("gc-with-dup")]),  # all or none for this caller
        group.insert([_tenant("gc-b")]),
        return_exceptions=True,
    )
    await group.close()
    assert results[0] is None
    assert results[2] is None
    assert isinstance(results[1], IntegrityError)
    assert await _slugs(sessionmaker) == {"gc-taken", "gc-a", "gc-b"}
    async with sessionmaker() as s:
        assert await s.scalar(select(func.count()).where(Tenant.id == "t_other")) == 0


async def test_a_closed_group_restarts_on_the_next_insert(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    group = GroupCommit(sessionmaker)
    await group.insert([_tenant("gc-1")])
    await group.close()
    await group.insert([_tenant("gc-2")])
    await group.close()
    assert await _slugs(sessionmaker) == {"gc-1", "gc-2"}


async def test_a_bad_row_fails_its_caller(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    group = GroupCommit(sessionmaker)
    bad = Tenant(id="t_bad", slug=None, display_name="no slug")  # NOT NULL
    with pytest.raises(IntegrityError):
        await group.insert([bad])
    await group.close()
    assert await _slugs(sessionmaker) == set()


async def test_run_returns_each_callers_result_and_a_failing_work_fails_alone(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    group = GroupCommit(sessionmaker)

    def work(slug: str, fail: bool = False) -> Any:
        async def go(session: AsyncSession) -> str:
            session.add(_tenant(slug))
            await session.flush()
            if fail:
                raise ValueError(slug)
            return slug.upper()

        return go

    results = await asyncio.gather(
        group.run(work("gc-r1")),
        group.run(work("gc-r2", fail=True)),
        group.run(work("gc-r3")),
        return_exceptions=True,
    )
    await group.close()
    assert results[0] == "GC-R1"
    assert results[2] == "GC-R3"
    assert isinstance(results[1], ValueError)
    assert await _slugs(sessionmaker) == {"gc-r1", "gc-r3"}


async def test_batched_rows_get_column_defaults_and_parents_go_first(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """The batch writes rows with Core executemany: columns a row was not given take their
    defaults, and a child given before its parent is still inserted after it."""
    from agentry.models.tenant_entra_id import TenantEntraId

    group = GroupCommit(sessionmaker)
    parent = _tenant("gc-parent")
    child = TenantEntraId(
        entra_tenant_id="00000000-0000-0000-0000-00000000gc01", tenant_id=parent.id
    )
    await asyncio.gather(group.insert([child, parent]), group.insert([_tenant("gc-other")]))
    await group.close()
    async with sessionmaker() as s:
        row = (await s.scalars(select(Tenant).where(Tenant.id == parent.id))).one()
        link = (
            await s.scalars(select(TenantEntraId).where(TenantEntraId.tenant_id == parent.id))
        ).one()
    assert row.status == "active"  # defaults applied
    assert row.created_at is not None
    assert link.created_at is not None
    assert await _slugs(sessionmaker) == {"gc-parent", "gc-other"}


async def test_run_many_takes_a_batch_of_items_in_one_call_and_answers_each_caller(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    group = GroupCommit(sessionmaker)
    calls: list[list[str]] = []

    async def add_all(session: AsyncSession, slugs: list[str]) -> list[str]:
        calls.append(list(slugs))
        session.add_all([_tenant(s) for s in slugs])
        await session.flush()
        return [s.upper() for s in slugs]

    answers = await asyncio.gather(*(group.run_many(add_all, f"gc-m{i}") for i in range(20)))
    await group.close()
    assert answers == [f"GC-M{i}" for i in range(20)]
    assert await _slugs(sessionmaker) == {f"gc-m{i}" for i in range(20)}
    assert sorted(s for c in calls for s in c) == sorted(f"gc-m{i}" for i in range(20))
    assert len(calls) < 20  # items of one batch went to one call


async def test_run_many_a_failing_item_fails_alone(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    group = GroupCommit(sessionmaker)
    await group.insert([_tenant("gc-dup")])

    async def add_all(session: AsyncSession, slugs: list[str]) -> list[None]:
        for s in slugs:  # "gc-dup" again: a unique slug taken, under another id
            session.add(Tenant(id=f"t2_{s}", slug=s, display_name=s))
        await session.flush()
        return [None] * len(slugs)

    results = await asyncio.gather(
        *(group.run_many(add_all, s) for s in ("gc-n1", "gc-dup", "gc-n2")),
        return_exceptions=True,
    )
    await group.close()
    assert results[0] is None
    assert results[2] is None
    assert isinstance(results[1], IntegrityError)
    assert await _slugs(sessionmaker) == {"gc-dup", "gc-n1", "gc-n2"}

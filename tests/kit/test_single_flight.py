"""Caches that expire under load: the requests that miss together share one database read."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agentry.marketplace.service import Entitlements
from agentry.registry.routing import AgentNotFound, RouteCache


@pytest.fixture
def statements(sessionmaker: async_sessionmaker[AsyncSession]) -> Iterator[list[str]]:
    seen: list[str] = []
    engine = sessionmaker.kw["bind"].sync_engine

    def record(_c: Any, _cur: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)


async def test_concurrent_misses_of_a_route_make_one_read(
    sessionmaker: async_sessionmaker[AsyncSession], statements: list[str]
) -> None:
    routes = RouteCache(sessionmaker)
    answers = await asyncio.gather(
        *(routes.resolve("nobody_here", "live") for _ in range(20)), return_exceptions=True
    )
    assert all(isinstance(a, AgentNotFound) for a in answers)
    assert sum("FROM agents" in s for s in statements) == 1
    with pytest.raises(AgentNotFound):  # a failed load is not cached: the next call reads again
        await routes.resolve("nobody_here", "live")
    assert sum("FROM agents" in s for s in statements) == 2


async def test_concurrent_misses_of_the_marketplace_gates_make_one_read(
    sessionmaker: async_sessionmaker[AsyncSession], statements: list[str]
) -> None:
    entitlements = Entitlements(sessionmaker)
    answers = await asyncio.gather(*(entitlements.allowed("t_x", "a_y") for _ in range(20)))
    assert answers == [True] * 20  # not a marketplace agent
    assert sum("FROM marketplace_listings" in s for s in statements) == 1
    entitlements.invalidate()
    await entitlements.allowed("t_x", "a_y")
    assert sum("FROM marketplace_listings" in s for s in statements) == 2

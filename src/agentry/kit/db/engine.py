"""Engine and session factory. One commit point per request: see `session_scope`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def create_engine(url: str) -> AsyncEngine:
    kwargs: dict[str, Any] = {}
    if is_sqlite(url):
        # The driver's own transaction handling is off; `_sqlite_begin` starts each one.
        kwargs["connect_args"] = {"timeout": 30, "isolation_level": None}
        # One connection per process: every transaction takes the write lock (see
        # `_sqlite_begin`), so waiting for the pool is waiting for the lock, in FIFO order and
        # woken at once, instead of SQLite's busy handler polling with sleeps of up to 100 ms.
        kwargs.update(pool_size=1, max_overflow=0, pool_timeout=30)
    else:
        kwargs.update(pool_size=10, max_overflow=20, pool_pre_ping=True)
    engine = create_async_engine(url, **kwargs)
    if is_sqlite(url):
        event.listen(engine.sync_engine, "connect", sqlite_pragmas)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
    return engine


def _sqlite_begin(conn: Any) -> None:
    # IMMEDIATE takes the write lock up front: a read-then-write transaction (the audit chain,
    # job claims) then waits its turn instead of failing with SQLITE_BUSY_SNAPSHOT.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def sqlite_pragmas(dbapi_conn: Any, _record: ConnectionPoolEntry | None = None) -> None:
    # WAL lets readers run beside the one writer; NORMAL sync is durable across app crashes.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


@asynccontextmanager
async def session_scope(maker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """The one commit point: commit when the block succeeds, roll back when it raises."""
    async with maker() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


__all__ = ["Engine", "create_engine", "create_sessionmaker", "is_sqlite", "session_scope"]

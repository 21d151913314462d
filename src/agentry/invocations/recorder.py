"""Group commit for invocation rows.

Every sync call writes one row. Committing each row in its own transaction caps throughput
at the database's commit rate (one writer for SQLite), so rows are queued and one writer task
inserts whatever has accumulated in a single transaction.

Two modes (`AGENTRY_INVOCATION_RECORDING`):
- `durable`: the caller awaits its row's commit, so no answer leaves before its record is
  stored. Costs one commit of latency per call (~0.6 ms on SQLite here).
- `buffered` (default): the caller does not wait; the writer commits within milliseconds and
  drains on shutdown. A SIGKILL of the API can lose the rows of the batch in flight.

On SQLite the batch is written with the stdlib driver in one worker-thread hop (aiosqlite
hops threads for every cursor call, which cost more than the rest of the request together),
as one prepared `executemany` per table over tuples: each column's SQLAlchemy bind processor
(the same stored format) and Python-side default are looked up once, not per row, so the
writer thread holds the GIL for microseconds per row while the request loop wants it.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any, cast

from sqlalchemy import Column, Dialect, Table, insert, make_url
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agentry.kit.db.engine import is_sqlite, session_scope, sqlite_pragmas
from agentry.kit.logging import get_logger
from agentry.models import Base, Invocation

MAX_BATCH = 500
Companions = Sequence[tuple[type[Base], dict[str, Any]]]
log = get_logger("agentry.invocations.recorder")


class InvocationRecorder:
    """Group-commits rows of `table` (invocations by default; stream events use one too)."""

    def __init__(
        self,
        maker: async_sessionmaker[AsyncSession],
        database_url: str,
        *,
        table: type[Base] = Invocation,
        on_commit: Callable[[list[dict[str, Any]]], None] | None = None,
    ) -> None:
        self._maker = maker
        self._table = table
        self._on_commit = on_commit  # rows of `table`, after their transaction committed
        self._sync: SqliteInserts | None = None
        if is_sqlite(database_url):
            self._sync = SqliteInserts(database_url)
        # (row of `table`, rows of other tables written in the same transaction, done)
        self._pending: list[tuple[dict[str, Any], Companions, asyncio.Future[None]]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"recorder-{self._table.__tablename__}")

    async def stop(self) -> None:
        self._closing = True
        self._wake.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._sync is not None:
            self._sync.close()

    async def record(self, row: dict[str, Any], *, wait: bool, companions: Companions = ()) -> None:
        """Queue `row`; `companions` are rows of other tables committed with it (one writer:
        a second recorder on the same SQLite file would contend for its write lock)."""
        if self._task is None or self._task.done():
            raise RuntimeError("recorder is not running")
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((row, companions, done))
        self._wake.set()
        if wait:
            await done

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
                await self._write(batch)
            if self._closing:
                return

    async def _write(
        self, batch: list[tuple[dict[str, Any], Companions, asyncio.Future[None]]]
    ) -> None:
        tables: dict[type[Base], list[dict[str, Any]]] = {self._table: [r for r, _, _ in batch]}
        for _, companions, _ in batch:
            for table, row in companions:
                tables.setdefault(table, []).append(row)
        try:
            if self._sync is not None:
                await asyncio.to_thread(self._sync.write, tables)
            else:
                async with session_scope(self._maker) as session:
                    for table, rows in tables.items():
                        await session.execute(insert(table), rows)  # scoping: exempt (batch)
        except Exception as exc:
            log.error("invocation_batch_failed", rows=len(batch), error_type=type(exc).__name__)
            for _, _, done in batch:
                if not done.done():
                    done.set_exception(exc)
                    done.exception()  # a buffered caller is not waiting: mark it retrieved
            return
        for _, _, done in batch:
            if not done.done():
                done.set_result(None)
        if self._on_commit is not None:
            self._on_commit(tables[self._table])


class _Prepared:
    """One table's INSERT: its columns, their bind processors and Python-side defaults."""

    def __init__(self, table: type[Base], dialect: Dialect) -> None:
        columns: list[Column[Any]] = [
            c
            for c in cast(Table, table.__table__).columns
            if not (c.primary_key and c.autoincrement is True)
        ]
        self.names = [c.name for c in columns]
        self.processors = [c.type.dialect_impl(dialect).bind_processor(dialect) for c in columns]
        self.defaults = [_default(c) for c in columns]
        names = ", ".join(f'"{n}"' for n in self.names)
        marks = ", ".join("?" for _ in columns)
        self.sql = f'INSERT INTO "{table.__tablename__}" ({names}) VALUES ({marks})'

    def values(self, row: dict[str, Any]) -> tuple[Any, ...]:
        out = []
        for name, process, default in zip(self.names, self.processors, self.defaults, strict=True):
            value = row[name] if name in row else default()
            out.append(process(value) if process is not None and value is not None else value)
        return tuple(out)


def _default(column: Column[Any]) -> Callable[[], Any]:
    found = column.default
    if found is None or not (found.is_scalar or found.is_callable):
        return lambda: None
    arg: Any = getattr(found, "arg")  # noqa: B009 (ColumnDefault, typed as its base)
    if found.is_callable:
        return lambda: arg(None)  # SQLAlchemy wraps a no-argument default to take a context
    return lambda: arg


class SqliteInserts:
    """The stdlib-sqlite3 writer (one connection, used by one batch at a time)."""

    def __init__(self, database_url: str) -> None:
        path = make_url(database_url).database or ":memory:"
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        sqlite_pragmas(self._conn)
        self._dialect = SQLiteDialect_pysqlite()
        self._prepared: dict[type[Base], _Prepared] = {}

    def write(self, tables: dict[type[Base], list[dict[str, Any]]]) -> None:
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            for table, rows in tables.items():
                prepared = self._prepared.get(table)
                if prepared is None:
                    prepared = self._prepared[table] = _Prepared(table, self._dialect)
                # scoping: exempt (rows carry tenant_id)
                conn.executemany(prepared.sql, [prepared.values(r) for r in rows])
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def close(self) -> None:
        self._conn.close()

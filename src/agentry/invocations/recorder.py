"""Group commit for invocation rows.

Every sync call writes one row. Committing each row in its own transaction caps throughput
at the database's commit rate (one writer for SQLite), so rows are queued and one writer task
inserts whatever has accumulated in a single transaction.

Two modes (`AGENTRY_INVOCATION_RECORDING`):
- `durable`: the caller awaits its row's commit, so no answer leaves before its record is
  stored. Costs one commit of latency per call (~0.6 ms on SQLite here).
- `buffered` (default): the caller does not wait; the writer commits within milliseconds and
  drains on shutdown. A SIGKILL of the API can lose the rows of the batch in flight.

On SQLite a writer thread of its own takes rows from a queue and writes whatever has queued
in one transaction with the stdlib driver (aiosqlite hops threads for every cursor call, which
cost more than the rest of the request together; a `to_thread` hop per batch cost a loop wake
and an executor hand-off per request at c=1). The event loop only puts a row on the queue and
is woken back only for a waiter or `on_commit`. Each table's batch is one prepared
`executemany` over tuples: each column's SQLAlchemy bind processor (the same stored format) and
Python-side default are looked up once, not per row, so the writer holds the GIL for
microseconds per row while the request loop wants it.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import sqlite3
import threading
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


Pending = tuple[dict[str, Any], Companions, "asyncio.Future[None] | None"]


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
        self._writer: _SqliteWriter | None = None
        if is_sqlite(database_url):
            self._writer = _SqliteWriter(
                database_url, self._write_rows, self._finish, always=on_commit is not None
            )
        # (row of `table`, rows of other tables written in the same transaction, done)
        self._pending: list[Pending] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    def start(self) -> None:
        if self._writer is not None:
            self._writer.start(asyncio.get_running_loop(), self._table.__tablename__)
            return
        self._task = asyncio.create_task(self._run(), name=f"recorder-{self._table.__tablename__}")

    async def stop(self) -> None:
        if self._writer is not None:
            await self._writer.stop()
            return
        self._closing = True
        self._wake.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def record(self, row: dict[str, Any], *, wait: bool, companions: Companions = ()) -> None:
        """Queue `row`; `companions` are rows of other tables committed with it (one writer:
        a second recorder on the same SQLite file would contend for its write lock)."""
        done: asyncio.Future[None] | None = None
        if wait:
            done = asyncio.get_running_loop().create_future()
        if self._writer is not None:
            self._writer.put((row, companions, done))
        else:
            if self._task is None or self._task.done():
                raise RuntimeError("recorder is not running")
            self._pending.append((row, companions, done))
            self._wake.set()
        if done is not None:
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

    async def _write(self, batch: list[Pending]) -> None:
        tables = self._tables(batch)
        error: Exception | None = None
        try:
            async with session_scope(self._maker) as session:
                for table, rows in tables.items():
                    await session.execute(insert(table), rows)  # scoping: exempt (batch)
        except Exception as exc:
            error = exc
        self._finish(batch, tables, error)

    def _tables(self, batch: list[Pending]) -> dict[type[Base], list[dict[str, Any]]]:
        tables: dict[type[Base], list[dict[str, Any]]] = {self._table: [r for r, _, _ in batch]}
        for _, companions, _ in batch:
            for table, row in companions:
                tables.setdefault(table, []).append(row)
        return tables

    def _write_rows(self, batch: list[Pending]) -> tuple[Any, Exception | None]:
        """In the writer thread: the batch's transaction; (its tables, the error if any)."""
        assert self._writer is not None
        tables = self._tables(batch)
        try:
            self._writer.inserts.write(tables)
        except Exception as exc:
            return tables, exc
        return tables, None

    def _finish(
        self,
        batch: list[Pending],
        tables: dict[type[Base], list[dict[str, Any]]],
        error: Exception | None,
    ) -> None:
        """On the event loop: wake the waiters, tell `on_commit`."""
        if error is not None:
            log.error("invocation_batch_failed", rows=len(batch), error_type=type(error).__name__)
        for _, _, done in batch:
            if done is not None and not done.done():
                if error is None:
                    done.set_result(None)
                else:
                    done.set_exception(error)
        if error is None and self._on_commit is not None:
            self._on_commit(tables[self._table])


class _SqliteWriter:
    """The writer thread: takes what has queued (up to MAX_BATCH), writes it, hands the
    outcome to the loop only when someone there needs it."""

    def __init__(
        self,
        database_url: str,
        write: Callable[[list[Pending]], tuple[Any, Exception | None]],
        finish: Callable[[list[Pending], Any, Exception | None], None],
        *,
        always: bool,
    ) -> None:
        self.inserts = SqliteInserts(database_url)
        self._write = write
        self._finish = finish
        self._always = always  # `on_commit` runs after every batch
        self._queue: queue.SimpleQueue[Pending | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self, loop: asyncio.AbstractEventLoop, name: str) -> None:
        self._loop = loop
        self._thread = threading.Thread(target=self._serve, name=f"recorder-{name}", daemon=True)
        self._thread.start()

    def put(self, item: Pending) -> None:
        if self._thread is None or not self._thread.is_alive():
            raise RuntimeError("recorder is not running")
        self._queue.put(item)

    async def stop(self) -> None:
        """Write what is queued, then end the thread."""
        if self._thread is not None:
            self._queue.put(None)
            await asyncio.to_thread(self._thread.join)
        self.inserts.close()

    def _serve(self) -> None:
        closing = False
        while not closing:
            first = self._queue.get()
            batch: list[Pending] = []
            if first is None:
                closing = True
            else:
                batch.append(first)
            while len(batch) < MAX_BATCH:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    closing = True
                    continue
                batch.append(item)
            if batch:
                self._flush(batch)

    def _flush(self, batch: list[Pending]) -> None:
        tables, error = self._write(batch)
        if self._always or error is not None or any(done is not None for _, _, done in batch):
            assert self._loop is not None
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody is waiting
                self._loop.call_soon_threadsafe(self._finish, batch, tables, error)


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

"""Group commit: what many callers write at once goes to the database in one transaction.

Each caller awaits its own work's commit, so an answer is never ahead of its data. On SQLite
(one writer) this turns N lock hand-overs and N commits into one; on PostgreSQL it saves the
round trips. A caller gives rows (`insert`), a function of the session (`run`: its reads and
writes), or an item for a function that handles many callers' items at once (`run_many`: e.g.
jobs' terminal transitions, a few statements for the whole batch). A batch that fails is
retried caller by caller, each in a transaction of its own, so only the caller whose work fails
hears it; work given to `run` or `run_many` must therefore be safe to run again after a
rollback (it is: every use is guarded by a conditional update). SQLAlchemy has no such batcher.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from sqlalchemy import Table, insert, inspect
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agentry.kit.db.base import Base
from agentry.kit.db.engine import session_scope
from agentry.kit.logging import get_logger

log = get_logger("agentry.kit.db.batch")
MAX_BATCH = 256
T = TypeVar("T")
Work = Callable[[AsyncSession], Awaitable[Any]]
Many = Callable[[AsyncSession, list[Any]], Awaitable[list[Any]]]


@dataclass
class _Pending:
    work: Work
    rows: Sequence[Base] | None = None  # plain inserts: written with the batch's executemany
    many: Many | None = None  # `run_many`: called once with every such caller's item
    item: Any = None
    done: asyncio.Future[Any] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class GroupCommit:
    def __init__(self, maker: async_sessionmaker[AsyncSession], max_batch: int = MAX_BATCH) -> None:
        self._maker = maker
        self._max_batch = max_batch
        self._queue: asyncio.Queue[_Pending] | None = None
        self._task: asyncio.Task[None] | None = None
        self.transactions = 0  # batches written (for tests and metrics)

    async def insert(self, rows: Sequence[Base]) -> None:
        """Insert `rows` (one caller's, all or none) and return once they are committed."""

        async def add(session: AsyncSession) -> None:
            session.add_all(list(rows))
            await session.flush()  # this caller's constraint errors surface as its own

        # The batch inserts every caller's rows with one executemany per table (Core: no unit
        # of work per row); `add` is what runs if the batch fails and callers go one by one.
        await self._submit(_Pending(add, rows))

    async def run(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """Run `work` in a transaction shared with other callers; its result once committed."""
        return cast(T, await self._submit(_Pending(work)))

    async def run_many(
        self, many: Callable[[AsyncSession, list[Any]], Awaitable[list[T]]], item: Any
    ) -> T:
        """`many(session, items)` (one result per item, in order) runs once for all the callers
        that gave it an item in this batch; this caller gets its item's result once committed."""

        async def alone(session: AsyncSession) -> T:
            return (await many(session, [item]))[0]

        return cast(T, await self._submit(_Pending(alone, many=many, item=item)))

    async def _submit(self, pending: _Pending) -> Any:
        if self._task is None or self._task.done():
            self._queue = asyncio.Queue()
            self._task = asyncio.create_task(self._drain(self._queue), name="group-commit")
        assert self._queue is not None
        self._queue.put_nowait(pending)
        return await pending.done

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _drain(self, queue: asyncio.Queue[_Pending]) -> None:
        while True:
            batch = [await queue.get()]
            while len(batch) < self._max_batch and not queue.empty():
                batch.append(queue.get_nowait())
            try:
                await self._write(batch)
            except asyncio.CancelledError:
                for p in batch:
                    if not p.done.done():
                        p.done.cancel()
                raise

    async def _write(self, batch: list[_Pending]) -> None:
        self.transactions += 1
        if len(batch) == 1 and batch[0].rows is None:
            await self._write_one(batch[0])
            return
        results: list[Any] = [None] * len(batch)
        try:
            async with session_scope(self._maker) as session:
                await insert_rows(session, [r for p in batch if p.rows is not None for r in p.rows])
                shared: dict[Many, list[int]] = {}
                for i, p in enumerate(batch):
                    if p.many is not None:
                        shared.setdefault(p.many, []).append(i)
                    elif p.rows is None:
                        results[i] = await p.work(session)
                for many, at in shared.items():
                    for i, result in zip(
                        at, await many(session, [batch[i].item for i in at]), strict=True
                    ):
                        results[i] = result
        except Exception:
            log.info("db.group_commit_split", callers=len(batch))
            # Someone's work failed (a constraint, say) and the whole batch rolled back:
            # run each caller's work alone, so only that caller hears its error.
            for p in batch:
                await self._write_one(p)
            return
        for p, result in zip(batch, results, strict=True):
            _settle(p, result, None)

    async def _write_one(self, pending: _Pending) -> None:
        try:
            async with session_scope(self._maker) as session:
                result = await pending.work(session)
        except Exception as exc:
            _settle(pending, None, exc)
        else:
            _settle(pending, result, None)


async def insert_rows(session: AsyncSession, rows: list[Base]) -> None:
    """One executemany per table and column set, parents before children (foreign keys).

    Only the attributes the rows were given are written; the columns' defaults do the rest,
    as a flush would. The rows stay transient: callers read back only what they set."""
    if not rows:
        return
    groups: dict[tuple[Table, tuple[str, ...]], list[dict[str, Any]]] = {}
    for row in rows:
        mapper = inspect(type(row))
        values = {
            prop.columns[0].key: row.__dict__[prop.key]
            for prop in mapper.column_attrs
            if prop.key in row.__dict__
        }
        table = cast(Table, mapper.local_table)
        groups.setdefault((table, tuple(values)), []).append(values)
    order = {t: i for i, t in enumerate(Base.metadata.sorted_tables)}
    for (table, _), params in sorted(groups.items(), key=lambda g: order.get(g[0][0], 0)):
        await session.execute(insert(table), params)


def _settle(pending: _Pending, result: Any, exc: BaseException | None) -> None:
    if pending.done.done():
        return
    if exc is None:
        pending.done.set_result(result)
    else:
        pending.done.set_exception(exc)

"""Group commit: rows that many requests insert at once go to the database in one transaction.

Each caller awaits its own rows' commit, so an answer is never ahead of its data. On SQLite
(one writer) this turns N lock hand-overs and N commits into one; on PostgreSQL it saves the
round trips. A batch that breaks a constraint is retried row group by row group, so only the
caller whose rows conflict gets the `IntegrityError`. SQLAlchemy has no such batcher.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agentry.kit.db.base import Base
from agentry.kit.db.engine import session_scope
from agentry.kit.logging import get_logger

log = get_logger("agentry.kit.db.batch")
MAX_BATCH = 256


@dataclass
class _Pending:
    rows: Sequence[Base]
    done: asyncio.Future[None] = field(
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
        if self._task is None or self._task.done():
            self._queue = asyncio.Queue()
            self._task = asyncio.create_task(self._drain(self._queue), name="group-commit")
        assert self._queue is not None
        pending = _Pending(rows)
        self._queue.put_nowait(pending)
        await pending.done

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
        try:
            async with session_scope(self._maker) as session:
                session.add_all([row for p in batch for row in p.rows])
        except IntegrityError as exc:
            if len(batch) == 1:
                _settle(batch[0], exc)
                return
            # One caller's rows break a constraint: find whose, commit the others.
            for p in batch:
                await self._write_one(p)
            return
        except Exception as exc:  # the database is down: every caller hears it
            log.warning("db.group_commit_failed", rows=sum(len(p.rows) for p in batch))
            for p in batch:
                _settle(p, exc)
            return
        for p in batch:
            _settle(p, None)

    async def _write_one(self, pending: _Pending) -> None:
        try:
            async with session_scope(self._maker) as session:
                session.add_all(list(pending.rows))
        except Exception as exc:
            _settle(pending, exc)
        else:
            _settle(pending, None)


def _settle(pending: _Pending, exc: BaseException | None) -> None:
    if pending.done.done():
        return
    if exc is None:
        pending.done.set_result(None)
    else:
        pending.done.set_exception(exc)

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select

from agentry.kit.repository import RepositoryBase, insert_unless_exists
from agentry.kit.repository.base import insert_many_unless_exists
from agentry.models import EndedInvocation


class EndedInvocationRepository(RepositoryBase[EndedInvocation]):
    model = EndedInvocation

    async def end(self, invocation_id: str, at: datetime, keep_until: datetime) -> None:
        """Idempotent: ending an invocation twice keeps the first time."""
        await insert_unless_exists(
            self.session,
            EndedInvocation,
            {"invocation_id": invocation_id, "ended_at": at, "expires_at": keep_until},
            key="invocation_id",
        )

    async def end_many(self, ids: Sequence[str], at: datetime, keep_until: datetime) -> None:
        """`end` for many invocations, in one statement."""
        await insert_many_unless_exists(
            self.session,
            EndedInvocation,
            [{"invocation_id": i, "ended_at": at, "expires_at": keep_until} for i in ids],
            key="invocation_id",
        )

    async def ended_since(self, since: datetime) -> Sequence[str]:
        """Ids of the invocations ended at or after `since`."""
        rows = await self.session.execute(
            select(EndedInvocation.invocation_id).where(EndedInvocation.ended_at >= since)
        )
        return rows.scalars().all()

    async def purge(self, before: datetime) -> int:
        result = await self.session.execute(
            delete(EndedInvocation).where(EndedInvocation.expires_at < before)
        )
        return int(getattr(result, "rowcount", 0) or 0)

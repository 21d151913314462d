from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from agentry.kit.repository import RepositoryBase
from agentry.models import EndedInvocation


class EndedInvocationRepository(RepositoryBase[EndedInvocation]):
    model = EndedInvocation

    async def end(self, invocation_id: str, at: datetime, keep_until: datetime) -> None:
        """Idempotent: ending an invocation twice keeps the first time."""
        dialect = self.session.bind.dialect.name if self.session.bind else "sqlite"
        build = pg_insert if dialect == "postgresql" else sqlite_insert
        await self.session.execute(
            build(EndedInvocation)
            .values(invocation_id=invocation_id, ended_at=at, expires_at=keep_until)
            .on_conflict_do_nothing(index_elements=["invocation_id"])
        )

    async def ended_since(self, since: datetime) -> Sequence[tuple[str, datetime, datetime]]:
        """(invocation id, ended at, kept until) of invocations ended at or after `since`."""
        rows = await self.session.execute(
            select(
                EndedInvocation.invocation_id, EndedInvocation.ended_at, EndedInvocation.expires_at
            )
            .where(EndedInvocation.ended_at >= since)
            .order_by(EndedInvocation.ended_at)
        )
        return [(r[0], r[1], r[2]) for r in rows]

    async def purge(self, before: datetime) -> int:
        result = await self.session.execute(
            delete(EndedInvocation).where(EndedInvocation.expires_at < before)
        )
        return int(getattr(result, "rowcount", 0) or 0)

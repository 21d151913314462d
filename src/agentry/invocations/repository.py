from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from agentry.kit.repository import TenantScopedRepository
from agentry.models import IdempotencyRecord, Invocation, StreamEvent


class InvocationRepository(TenantScopedRepository[Invocation]):
    model = Invocation


class IdempotencyRepository(TenantScopedRepository[IdempotencyRecord]):
    model = IdempotencyRecord

    async def get_by_key(self, key: str) -> IdempotencyRecord | None:
        result = await self.session.execute(self.scoped().where(IdempotencyRecord.key == key))
        return result.scalar_one_or_none()

    async def delete_expired_key(self, key: str, now: datetime) -> int:
        result = await self.session.execute(
            delete(IdempotencyRecord)
            .where(IdempotencyRecord.tenant_id == self.tenant_id)
            .where(IdempotencyRecord.key == key, IdempotencyRecord.expires_at <= now)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def delete_pending(self, record_id: str) -> None:
        await self.session.execute(
            delete(IdempotencyRecord)
            .where(IdempotencyRecord.tenant_id == self.tenant_id)
            .where(IdempotencyRecord.id == record_id, IdempotencyRecord.state == "pending")
        )

    async def complete(
        self, record_id: str, *, status: int, body: bytes, expires_at: datetime
    ) -> None:
        await self.session.execute(
            update(IdempotencyRecord)
            .where(IdempotencyRecord.tenant_id == self.tenant_id)
            .where(IdempotencyRecord.id == record_id)
            .values(state="done", response_status=status, response_body=body, expires_at=expires_at)
        )


class StreamEventRepository(TenantScopedRepository[StreamEvent]):
    model = StreamEvent

    async def after(
        self, invocation_id: str, last_seq: int, limit: int = 500
    ) -> Sequence[StreamEvent]:
        result = await self.session.execute(
            self.scoped()
            .where(StreamEvent.invocation_id == invocation_id, StreamEvent.seq > last_seq)
            .order_by(StreamEvent.seq)
            .limit(limit)
        )
        return result.scalars().all()

    async def last(self, invocation_id: str) -> StreamEvent | None:
        result = await self.session.execute(
            self.scoped()
            .where(StreamEvent.invocation_id == invocation_id)
            .order_by(StreamEvent.seq.desc())
            .limit(1)
        )
        return result.scalar_one_or_none()


async def purge_expired(
    session: AsyncSession, *, idempotency_before: datetime, streams_before: datetime
) -> tuple[int, int]:
    """Housekeeping across tenants (no tenant's data is read): expired keys and old events."""
    keys = await session.execute(
        delete(IdempotencyRecord).where(  # scoping: exempt (expiry sweep, reads nothing)
            IdempotencyRecord.expires_at <= idempotency_before
        )
    )
    events = await session.execute(
        delete(StreamEvent).where(  # scoping: exempt (retention sweep, reads nothing)
            StreamEvent.created_at <= streams_before
        )
    )
    return int(keys.rowcount), int(events.rowcount)  # type: ignore[attr-defined]


async def version_outcomes(
    session: AsyncSession, *, agent_id: str, alias: str, since: datetime, versions: list[int]
) -> list[tuple[int, str, int]]:
    """(version, status, runtime_ms) of one agent's calls across tenants, for canary analysis.

    Only outcomes and timings are read, never tenant data beyond them.
    """
    result = await session.execute(
        select(  # scoping: exempt (per-agent health across tenants; no tenant data returned)
            Invocation.version_number, Invocation.status, Invocation.runtime_ms
        ).where(
            Invocation.agent_id == agent_id,
            Invocation.alias == alias,
            Invocation.created_at >= since,
            Invocation.version_number.in_(versions),
        )
    )
    return [(int(v), str(status), int(ms)) for v, status, ms in result.all()]

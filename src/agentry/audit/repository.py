from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime

from sqlalchemy import select, text, update

from agentry.audit.checkpoints import Checkpoint
from agentry.kit.ids import new_id
from agentry.kit.repository import RepositoryBase
from agentry.models import AuditCheckpoint, AuditEvent


class AuditRepository(RepositoryBase[AuditEvent]):
    """The audit log is append-only: no method here changes a row, except pseudonymisation."""

    model = AuditEvent

    async def lock_for_append(self) -> None:
        if self.session.get_bind().dialect.name == "postgresql":
            # Serialises appends across API replicas until this transaction ends.
            await self.session.execute(text("SELECT pg_advisory_xact_lock(727274)"))

    async def last(self) -> tuple[int, str] | None:
        row = (
            await self.session.execute(
                select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
            )
        ).first()
        return None if row is None else (row[0], row[1])

    async def list_for_tenant(
        self,
        tenant_id: str | None,
        *,
        limit: int,
        before_seq: int | None,
        action: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> Sequence[AuditEvent]:
        """Events where the tenant acted or was acted on; all events when tenant_id is None.
        `action` is an exact name or, ending in ".", a prefix ("keys." for every key action)."""
        stmt = select(AuditEvent)  # scoping: explicit tenant filter below
        if tenant_id is not None:
            stmt = stmt.where(
                (AuditEvent.actor_tenant_id == tenant_id)
                | (AuditEvent.target_tenant_id == tenant_id)
            )
        if before_seq is not None:
            stmt = stmt.where(AuditEvent.seq < before_seq)
        if action is not None:
            if action.endswith("."):
                stmt = stmt.where(AuditEvent.action.startswith(action, autoescape=True))
            else:
                stmt = stmt.where(AuditEvent.action == action)
        if start is not None:
            stmt = stmt.where(AuditEvent.at >= start)
        if end is not None:
            stmt = stmt.where(AuditEvent.at < end)
        result = await self.session.execute(stmt.order_by(AuditEvent.seq.desc()).limit(limit))
        return result.scalars().all()

    async def iterate(self, batch: int = 1000) -> AsyncIterator[AuditEvent]:
        after = 0
        while True:
            result = await self.session.execute(
                select(AuditEvent)
                .where(AuditEvent.seq > after)
                .order_by(AuditEvent.seq)
                .limit(batch)
            )
            rows = result.scalars().all()
            if not rows:
                return
            for row in rows:
                yield row
            after = rows[-1].seq

    async def checkpoints(self, limit: int) -> list[Checkpoint]:
        """The newest `limit` checkpoints stored in the database, newest first."""
        result = await self.session.execute(
            select(AuditCheckpoint).order_by(AuditCheckpoint.seq.desc()).limit(limit)
        )
        return [Checkpoint(r.seq, r.head_hash, r.at, r.signature) for r in result.scalars().all()]

    async def add_checkpoint(self, checkpoint: Checkpoint) -> None:
        self.session.add(
            AuditCheckpoint(
                id=new_id("ack"),
                seq=checkpoint.seq,
                head_hash=checkpoint.head_hash,
                at=checkpoint.at,
                signature=checkpoint.signature,
            )
        )
        await self.session.flush()

    async def pseudonymise_tenant(self, tenant_id: str, pseudonym: str) -> None:
        for column in (AuditEvent.actor_tenant_id, AuditEvent.target_tenant_id):
            await self.session.execute(
                update(AuditEvent).where(column == tenant_id).values({column: pseudonym})
            )

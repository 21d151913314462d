"""All SQL of the operator views. Every read here is deliberately across tenants and is served
only to the operator role (`/v1/admin/...`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from agentry.models import Job, ToolTarget, WebhookDelivery, WebhookEndpoint


class OpsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def jobs(
        self,
        *,
        status: str | None,
        tenant_id: str | None,
        agent: str | None,
        created_before: datetime | None,
        limit: int,
    ) -> Sequence[Job]:
        stmt = select(Job)  # scoping: exempt (operator job list across tenants)
        if status:
            stmt = stmt.where(Job.status == status)
        if tenant_id:
            stmt = stmt.where(Job.tenant_id == tenant_id)
        if agent:
            stmt = stmt.where(Job.agent_name == agent)
        if created_before is not None:
            stmt = stmt.where(Job.created_at < created_before)
        stmt = stmt.order_by(Job.created_at, Job.id).limit(limit)
        return (await self.session.execute(stmt)).scalars().all()

    async def job(self, job_id: str) -> Job | None:
        stmt = select(Job).where(  # scoping: exempt (operator looks a job up by id)
            Job.id == job_id
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def job_counts(self) -> dict[str, tuple[int, datetime | None]]:
        """Per status: how many jobs, and the oldest one's `created_at`."""
        stmt = select(  # scoping: exempt (operator queue depth across tenants)
            Job.status, func.count(), func.min(Job.created_at)
        ).group_by(Job.status)
        rows = (await self.session.execute(stmt)).all()
        return {status: (int(n), oldest) for status, n, oldest in rows}

    async def retrying_deliveries(self) -> int:
        """Pending deliveries that failed at least once and wait for their next attempt."""
        stmt = select(func.count()).where(  # scoping: exempt (operator webhook failures)
            WebhookDelivery.status == "pending", WebhookDelivery.attempts > 0
        )
        return int((await self.session.execute(stmt)).scalar_one())

    async def delivery_counts(self) -> dict[str, tuple[int, datetime | None]]:
        """Per webhook delivery status: how many, and the oldest one's `created_at`."""
        stmt = select(  # scoping: exempt (operator webhook backlog across tenants)
            WebhookDelivery.status, func.count(), func.min(WebhookDelivery.created_at)
        ).group_by(WebhookDelivery.status)
        rows = (await self.session.execute(stmt)).all()
        return {status: (int(n), oldest) for status, n, oldest in rows}


# Every column holding a value sealed by the secret box (webhooks.secretbox), for key rotation.
SEALED_COLUMNS = (
    ("webhook_endpoints", WebhookEndpoint.id, WebhookEndpoint.secret_enc),
    ("webhook_endpoints.previous", WebhookEndpoint.id, WebhookEndpoint.previous_secret_enc),
    ("webhook_deliveries", WebhookDelivery.id, WebhookDelivery.secret_enc),
    ("tool_targets", ToolTarget.name, ToolTarget.auth_header_enc),
)


class SealedRepository:
    """The sealed values of every tenant, read and rewritten by primary key (box key rotation)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def values(self, pk: Any, column: Any) -> list[tuple[str, str]]:
        stmt = select(pk, column).where(  # scoping: exempt (key rotation, every tenant)
            column.is_not(None)
        )
        return [(str(i), str(v)) for i, v in (await self.session.execute(stmt)).all()]

    async def replace(self, pk: Any, column: Any, row_id: str, sealed: str) -> None:
        await self.session.execute(
            update(column.class_)  # scoping: exempt (key rotation, by primary key)
            .where(pk == row_id)
            .values({column.key: sealed})
        )

"""All SQL of the operator views. Every read here is deliberately across tenants and is served
only to the operator role (`/v1/admin/...`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from agentry.models import Invocation, Job, Tenant, ToolTarget, WebhookDelivery, WebhookEndpoint


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


# One runtime session's use: tenant, session id, first start, last end, still running.
SessionUse = tuple[str, str, datetime, datetime | None, bool]


class CapacityRepository:
    """What the sessions and invocations of every tenant used, for quota sizing (RUNBOOK-004)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def session_uses(self, since: datetime) -> list[SessionUse]:
        """Per (tenant, runtime session): first start, last end and whether a call still runs,
        from the invocations and the jobs (a job holds its session while it runs)."""
        calls = (
            select(  # scoping: exempt (operator capacity across tenants)
                Invocation.tenant_id,
                Invocation.runtime_session_id,
                func.min(Invocation.created_at),
                func.max(Invocation.finished_at),
                func.count() - func.count(Invocation.finished_at),
            )
            .where(Invocation.created_at >= since)
            .group_by(Invocation.tenant_id, Invocation.runtime_session_id)
        )
        jobs = (
            select(  # scoping: exempt (operator capacity across tenants)
                Job.tenant_id,
                Job.runtime_session_id,
                func.min(Job.started_at),
                func.max(Job.finished_at),
                func.count() - func.count(Job.finished_at),
            )
            .where(Job.started_at.is_not(None), Job.started_at >= since)
            .group_by(Job.tenant_id, Job.runtime_session_id)
        )
        found: list[SessionUse] = []
        for stmt in (calls, jobs):
            for tenant, sid, first, last, running in (await self.session.execute(stmt)).all():
                if first is not None:
                    found.append((tenant, sid, first, last, int(running) > 0))
        return found

    async def invocation_starts(self, since: datetime) -> list[datetime]:
        stmt = select(  # scoping: exempt (operator capacity across tenants)
            Invocation.created_at
        ).where(Invocation.created_at >= since)
        return list((await self.session.execute(stmt)).scalars())

    async def slugs(self, tenant_ids: list[str]) -> dict[str, str]:
        stmt = select(Tenant.id, Tenant.slug).where(  # scoping: exempt (operator, names only)
            Tenant.id.in_(tenant_ids)
        )
        return {str(i): str(s) for i, s in (await self.session.execute(stmt)).all()}


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

"""All SQL for jobs. `JobRepository` is tenant-scoped (API); `JobQueueRepository` is the
dispatcher's platform-wide view (claims, leases, reaping) and never serves a tenant request."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update

from agentry.kit.repository.base import RepositoryBase, TenantScopedRepository
from agentry.models import Job, JobEvent, Tenant
from agentry.models.job import JobStatus
from agentry.models.tenant import TenantStatus

ACTIVE = (JobStatus.queued.value, JobStatus.running.value)


class JobRepository(TenantScopedRepository[Job]):
    model = Job

    async def by_idempotency_key(self, key: str) -> Job | None:
        result = await self.session.execute(self.scoped().where(Job.idempotency_key == key))
        return result.scalar_one_or_none()

    async def page(
        self,
        *,
        status: str | None,
        agent: str | None,
        after: tuple[datetime, str] | None,
        limit: int,
    ) -> Sequence[Job]:
        stmt = self.scoped()
        if status:
            stmt = stmt.where(Job.status == status)
        if agent:
            stmt = stmt.where(Job.agent_name == agent)
        if after is not None:
            at, id_ = after
            stmt = stmt.where(or_(Job.created_at < at, and_(Job.created_at == at, Job.id < id_)))
        stmt = stmt.order_by(Job.created_at.desc(), Job.id.desc()).limit(limit)
        return (await self.session.execute(stmt)).scalars().all()

    @staticmethod
    def event(job: Job, kind: str, data: dict[str, Any], at: datetime) -> JobEvent:
        """A new event row for `job`, for the caller to insert."""
        return JobEvent(job_id=job.id, tenant_id=job.tenant_id, kind=kind, data=data, at=at)

    async def add_event(self, job_id: str, kind: str, data: dict[str, Any], at: datetime) -> None:
        self.session.add(
            JobEvent(job_id=job_id, tenant_id=self.tenant_id, kind=kind, data=data, at=at)
        )

    async def events_after(self, job_id: str, after: int, limit: int = 500) -> Sequence[JobEvent]:
        stmt = (
            select(JobEvent)
            .where(JobEvent.tenant_id == self.tenant_id)
            .where(JobEvent.job_id == job_id, JobEvent.id > after)
            .order_by(JobEvent.id)
            .limit(limit)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def reload(self, job_id: str) -> Job:
        stmt = self.scoped().where(Job.id == job_id).execution_options(populate_existing=True)
        return (await self.session.execute(stmt)).scalar_one()

    async def finish(self, job_id: str, values: dict[str, Any]) -> Job | None:
        """The one terminal transition: only a queued or running job moves, exactly once.
        Returns the job as it now is (one `UPDATE ... RETURNING`), None if it had finished."""
        result = await self.session.execute(
            update(Job)
            .where(Job.tenant_id == self.tenant_id)
            .where(Job.id == job_id, Job.status.in_(ACTIVE))
            .values(**values)
            .returning(Job)
            .execution_options(synchronize_session=False, populate_existing=True)
        )
        return result.scalars().one_or_none()


class JobQueueRepository(RepositoryBase[Job]):
    model = Job

    async def claim(
        self,
        *,
        now: datetime,
        owner: str,
        limit: int,
        lease_until: datetime,
        concurrency: dict[str, int],
    ) -> list[Job]:
        candidates = (
            (
                await self.session.execute(
                    select(Job)  # scoping: exempt (dispatcher/reaper: work queue across tenants)
                    .join(Tenant, Tenant.id == Job.tenant_id)
                    .where(Job.status == JobStatus.queued.value, Job.available_at <= now)
                    .where(Tenant.status == TenantStatus.active.value)
                    .order_by(Job.available_at, Job.created_at)
                    .limit(limit * 4)
                    .with_for_update(skip_locked=True, of=Job)
                )
            )
            .scalars()
            .all()
        )
        if not candidates:
            return []
        tenant_ids = sorted({j.tenant_id for j in candidates})
        # Lock the tenants (in id order) so two dispatchers cannot both fill the same tenant's
        # last concurrency slot. SQLite needs nothing: BEGIN IMMEDIATE serialises claims.
        tiers = dict(
            (
                await self.session.execute(
                    select(Tenant.id, Tenant.tier)
                    .where(Tenant.id.in_(tenant_ids))
                    .order_by(Tenant.id)
                    .with_for_update()
                )
            ).all()
        )
        running = dict(
            (
                await self.session.execute(
                    select(
                        Job.tenant_id, func.count()
                    )  # scoping: exempt (dispatcher/reaper: work queue across tenants)
                    .where(Job.tenant_id.in_(tenant_ids), Job.status == JobStatus.running.value)
                    .group_by(Job.tenant_id)
                )
            ).all()
        )
        claimed: list[Job] = []
        for job in candidates:
            if len(claimed) >= limit:
                break
            tier = tiers.get(job.tenant_id, "basic")
            if running.get(job.tenant_id, 0) >= concurrency.get(tier, 1):
                continue  # over the tier's job concurrency: stays queued
            running[job.tenant_id] = running.get(job.tenant_id, 0) + 1
            job.status = JobStatus.running.value
            job.lease_owner = owner
            job.lease_expires_at = lease_until
            job.attempts += 1
            job.started_at = job.started_at or now
            job.deadline_at = job.deadline_at or _plus(now, job.deadline_s)
            job.session_started_at = job.session_started_at or now
            job.agent_seen_at = None
            claimed.append(job)
        await self.session.flush()
        return claimed

    async def renew(self, owner: str, ids: Sequence[str], lease_until: datetime) -> set[str]:
        """Extend the leases this owner still holds; returns the ids it still holds."""
        if not ids:
            return set()
        await self.session.execute(
            update(Job)  # scoping: exempt (dispatcher/reaper: work queue across tenants)
            .where(Job.id.in_(ids), Job.lease_owner == owner, Job.status == "running")
            .values(lease_expires_at=lease_until)
            .execution_options(synchronize_session=False)
        )
        held = await self.session.execute(
            select(Job.id).where(  # scoping: exempt (dispatcher/reaper: work queue across tenants)
                Job.id.in_(ids), Job.lease_owner == owner, Job.status == "running"
            )
        )
        return set(held.scalars().all())

    async def expired(self, now: datetime, limit: int = 100) -> Sequence[Job]:
        stmt = (
            select(Job)  # scoping: exempt (dispatcher/reaper: work queue across tenants)
            .where(Job.status == JobStatus.running.value, Job.lease_expires_at < now)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def past_deadline(self, now: datetime, limit: int = 100) -> Sequence[Job]:
        stmt = (
            select(Job)  # scoping: exempt (dispatcher/reaper: work queue across tenants)
            .where(Job.status.in_(ACTIVE), Job.deadline_at < now)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def backlog(self, now: datetime) -> tuple[dict[str, int], datetime | None]:
        """Active jobs by status, and when the oldest job ready to start became ready."""
        counts = await self.session.execute(
            select(Job.status, func.count())  # scoping: exempt (platform-wide queue metrics)
            .where(Job.status.in_(ACTIVE))
            .group_by(Job.status)
        )
        oldest = await self.session.execute(
            select(func.min(Job.available_at)).where(  # scoping: exempt (queue metrics)
                Job.status == JobStatus.queued.value, Job.available_at <= now
            )
        )
        return {str(s): int(n) for s, n in counts.all()}, oldest.scalar_one_or_none()

    async def requeue(self, job_id: str, owner: str | None, values: dict[str, Any]) -> bool:
        stmt = update(Job).where(  # scoping: exempt (dispatcher/reaper: work queue across tenants)
            Job.id == job_id, Job.status == JobStatus.running.value
        )
        if owner is not None:
            stmt = stmt.where(Job.lease_owner == owner)
        result = await self.session.execute(
            stmt.values(**values).execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))


def _plus(now: datetime, seconds: int) -> datetime:
    return now + timedelta(seconds=seconds)

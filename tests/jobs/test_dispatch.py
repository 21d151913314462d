"""Dispatcher mechanics on both databases: claims, tier concurrency, suspension, reaper,
deadlines, and the exactly-once terminal transition. Time is a fake clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agentry.agent_auth.tokens import TokenSigner
from agentry.billing.prices import PriceBook
from agentry.config import Settings
from agentry.jobs.repository import JobQueueRepository
from agentry.jobs.service import finish_job
from agentry.jobs.worker import JobWorker
from agentry.kit.db.engine import session_scope
from agentry.kit.ids import new_id
from agentry.models import Agent, Job, Tenant, UsageEvent, WebhookDelivery
from agentry.models.job import JobStatus
from agentry.runtime.local import LocalRuntime
from tests.factories import make_tenant

T0 = datetime(2026, 1, 1, tzinfo=UTC)
PRICES = PriceBook.from_mapping(Settings().price_book)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        home=tmp_path,
        job_concurrency_basic=2,
        job_lease_s=10,
        job_retry_backoff_s=4,
        runtime_url="http://127.0.0.1:9",  # nothing listens: stop_session is best effort
    )


@pytest.fixture
async def worker(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> AsyncIterator[tuple[JobWorker, Clock]]:
    clock = Clock()
    runtime = LocalRuntime(settings)
    w = JobWorker(
        sessionmaker,
        runtime,
        TokenSigner(settings.home / "keys"),
        settings,
        owner="w1",
        clock=clock,
    )
    yield w, clock
    await runtime.aclose()


async def _setup(
    maker: async_sessionmaker[AsyncSession], tier: str, jobs: int, *, status: str = "active"
) -> tuple[Tenant, list[str]]:
    async with session_scope(maker) as s:
        tenant = await make_tenant(s, tier=tier)
        tenant.status = status
        agent = Agent(id=new_id("agt"), name=f"a{new_id('x')[2:12]}", runtime_arn="arn:x")
        s.add(agent)
        await s.flush()
        ids = []
        for i in range(jobs):
            job = Job(
                id=new_id("job"),
                tenant_id=tenant.id,
                agent_id=agent.id,
                agent_name=agent.name,
                version_number=1,
                alias="live",
                runtime_arn="arn:x",
                qualifier="live",
                session_id="s",
                runtime_session_id="r" * 40,
                input={},
                max_attempts=2,
                deadline_s=60,
                available_at=T0,
                created_at=T0 + timedelta(seconds=i),
                webhook_url="http://127.0.0.1:9/hook",
                webhook_secret="sealed",
            )
            s.add(job)
            ids.append(job.id)
    return tenant, ids


async def _claim(maker: async_sessionmaker[AsyncSession], now: datetime, owner: str) -> list[Job]:
    async with session_scope(maker) as s:
        return await JobQueueRepository(s).claim(
            now=now,
            owner=owner,
            limit=10,
            lease_until=now + timedelta(seconds=10),
            concurrency={"basic": 2, "standard": 5, "premium": 20},
        )


async def _job(maker: async_sessionmaker[AsyncSession], job_id: str) -> Job:
    async with maker() as s:
        job = await s.get(Job, job_id)
        assert job is not None
        return job


async def test_claim_respects_tier_concurrency_and_suspension(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    _, basic_ids = await _setup(sessionmaker, "basic", 4)
    _, suspended_ids = await _setup(sessionmaker, "premium", 2, status="suspended")
    first = await _claim(sessionmaker, T0, "w1")
    assert sorted(j.id for j in first) == sorted(basic_ids[:2])  # oldest first, 2 for basic
    assert all(j.attempts == 1 and j.lease_owner == "w1" for j in first)
    assert await _claim(sessionmaker, T0, "w2") == []  # over concurrency: the rest stay queued
    for job_id in suspended_ids:
        assert (await _job(sessionmaker, job_id)).status == "queued"
    async with session_scope(sessionmaker) as s:
        assert await finish_job(s, first[0], JobStatus.succeeded, prices=PRICES, result={"ok": 1})
    [next_one] = await _claim(sessionmaker, T0, "w2")
    assert next_one.id == basic_ids[2]


async def test_reaper_requeues_with_backoff_then_fails_after_last_attempt(
    sessionmaker: async_sessionmaker[AsyncSession], worker: tuple[JobWorker, Clock]
) -> None:
    w, clock = worker
    _, [job_id] = await _setup(sessionmaker, "premium", 1)
    await _claim(sessionmaker, T0, "dead-worker")
    clock.now = T0 + timedelta(seconds=11)  # lease expired
    await w.reap_once()
    job = await _job(sessionmaker, job_id)
    assert job.status == "queued"
    assert job.available_at == clock.now + timedelta(seconds=4)
    assert job.error_message == "worker lost: its lease expired"
    assert await _claim(sessionmaker, clock.now, "w2") == []  # backing off
    clock.now += timedelta(seconds=4)
    [again] = await _claim(sessionmaker, clock.now, "dead-worker-2")
    assert again.attempts == 2
    clock.now += timedelta(seconds=11)
    await w.reap_once()
    job = await _job(sessionmaker, job_id)
    assert job.status == "failed"
    assert job.error_code == "attempts_exhausted"
    assert "after 2 attempts" in (job.error_message or "")
    async with sessionmaker() as s:
        deliveries = (
            (await s.execute(select(WebhookDelivery).where(WebhookDelivery.job_id == job_id)))
            .scalars()
            .all()
        )
        usage = await s.scalar(
            select(func.count()).select_from(UsageEvent).where(UsageEvent.invocation_id == job_id)
        )
    assert [d.event_type for d in deliveries] == ["job.failed"]
    assert usage == 1


async def test_deadline_times_out_the_job(
    sessionmaker: async_sessionmaker[AsyncSession], worker: tuple[JobWorker, Clock]
) -> None:
    w, clock = worker
    _, [job_id] = await _setup(sessionmaker, "premium", 1)
    await _claim(sessionmaker, T0, "w1")
    assert (await _job(sessionmaker, job_id)).deadline_at == T0 + timedelta(seconds=60)
    clock.now = T0 + timedelta(seconds=5)
    await w.reap_once()
    assert (await _job(sessionmaker, job_id)).status == "running"
    clock.now = T0 + timedelta(seconds=61)
    await w.reap_once()
    job = await _job(sessionmaker, job_id)
    assert job.status == "timed_out"
    assert job.error_code == "job_deadline_exceeded"


async def test_terminal_transition_happens_once(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    _, [job_id] = await _setup(sessionmaker, "premium", 1)
    [job] = await _claim(sessionmaker, T0, "w1")
    async with session_scope(sessionmaker) as s:
        assert await finish_job(s, job, JobStatus.cancelled, prices=PRICES) is not None
    async with session_scope(sessionmaker) as s:
        assert await finish_job(s, job, JobStatus.succeeded, prices=PRICES, result=1) is None
    assert (await _job(sessionmaker, job_id)).status == "cancelled"
    async with sessionmaker() as s:
        count = await s.scalar(
            select(func.count())
            .select_from(WebhookDelivery)
            .where(WebhookDelivery.job_id == job_id)
        )
    assert count == 1


async def test_queue_metrics_show_backlog_and_age(
    sessionmaker: async_sessionmaker[AsyncSession], worker: tuple[JobWorker, Clock]
) -> None:
    w, clock = worker
    _, ids = await _setup(sessionmaker, "basic", 5)
    await _claim(sessionmaker, T0, "w9")  # 2 start (basic concurrency), 3 wait
    clock.now = T0 + timedelta(seconds=42)
    await w.measure_once()

    def sample(name: str, **labels: str) -> float | None:
        return REGISTRY.get_sample_value(name, labels)

    assert sample("agentry_jobs_backlog", status="queued") == 3
    assert sample("agentry_jobs_backlog", status="running") == 2
    assert sample("agentry_jobs_queue_age_seconds") == 42
    async with session_scope(sessionmaker) as s:
        for job_id in ids:
            job = await s.get(Job, job_id)
            assert job is not None
            job.status = JobStatus.succeeded.value
    await w.measure_once()
    assert sample("agentry_jobs_backlog", status="queued") == 0
    assert sample("agentry_jobs_queue_age_seconds") == 0

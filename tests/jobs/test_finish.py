"""finish_jobs: a batch of terminal transitions, each exactly once, with all its rows."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agentry.jobs.service import Finish, finish_jobs
from agentry.kit.clock import utcnow
from agentry.kit.db.engine import session_scope
from agentry.metering.service import FREE, Price
from agentry.models import (
    Agent,
    EndedInvocation,
    Job,
    JobEvent,
    Tenant,
    UsageEvent,
    WebhookDelivery,
    WebhookEndpoint,
)
from agentry.models.job import JobStatus
from agentry.webhooks.repository import DeliveryQueueRepository


class Prices:
    def price(self, tier: str, kind: str, *, model: str | None = None, at: object = None) -> Price:
        return FREE


async def _seed(maker: async_sessionmaker[AsyncSession], n: int) -> None:
    now = utcnow()
    async with session_scope(maker) as s:
        s.add_all([Tenant(id=t, slug=t, display_name=t) for t in ("ten_a", "ten_b")])
        s.add(Agent(id="agt_1", name="echo"))
        await s.flush()
        s.add(
            WebhookEndpoint(
                id="whe_1",
                tenant_id="ten_b",
                url="http://127.0.0.1:9/e",
                description="",
                secret_enc="sealed",
                status="active",
                created_at=now,
                event_types=[],
            )
        )
        for i in range(n):
            s.add(
                Job(
                    id=f"job_{i}",
                    tenant_id="ten_a" if i % 2 else "ten_b",
                    agent_id="agt_1",
                    agent_name="echo",
                    version_number=1,
                    alias="live",
                    runtime_arn="arn",
                    qualifier="q",
                    session_id="s",
                    runtime_session_id="r",
                    status="running",
                    input={},
                    deadline_s=60,
                    started_at=now - timedelta(seconds=2),
                    webhook_url="http://127.0.0.1:9/own",
                    webhook_secret="sealed",
                )
            )


async def _count(maker: async_sessionmaker[AsyncSession], model: type) -> int:
    async with maker() as s:
        return int(await s.scalar(select(func.count()).select_from(model)) or 0)


async def test_a_batch_finishes_each_job_once_with_its_rows_and_holds_its_own_webhook(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await _seed(sessionmaker, 4)
    finishes = [
        Finish(f"job_{i}", "ten_a" if i % 2 else "ten_b", JobStatus.succeeded, {"n": i})
        for i in range(4)
    ]
    finishes[3] = Finish("job_3", "ten_a", JobStatus.failed, error_code="agent_error")
    hold = utcnow() + timedelta(seconds=60)
    async with session_scope(sessionmaker) as s:
        done = await finish_jobs(s, finishes, prices=Prices(), hold_until=hold)
    assert [d.job.status if d else None for d in done] == [
        "succeeded",
        "succeeded",
        "succeeded",
        "failed",
    ]
    assert done[0] is not None
    assert done[0].job.result == {"n": 0}
    # ten_b's jobs also go to its endpoint (due at once); each job's own row is held.
    assert [len(d.deliveries) if d else 0 for d in done] == [2, 1, 2, 1]
    assert all(d is not None and [h.endpoint_id for h in d.held] == [None] for d in done)
    # Again (a retry, another process): nothing moves, nothing is written twice.
    async with session_scope(sessionmaker) as s:
        again = await finish_jobs(s, finishes, prices=Prices(), hold_until=hold)
    assert again == [None] * 4
    assert await _count(sessionmaker, UsageEvent) == 4
    assert await _count(sessionmaker, EndedInvocation) == 4
    assert await _count(sessionmaker, JobEvent) == 4
    assert await _count(sessionmaker, WebhookDelivery) == 6
    # The held rows are no poll's to take until the hold ends (then any sender's).
    async with session_scope(sessionmaker) as s:
        due = await DeliveryQueueRepository(s).claim_due(utcnow(), 50, hold)
    assert sorted(d.endpoint_id or "" for d in due) == ["whe_1", "whe_1"]
    async with session_scope(sessionmaker) as s:
        later = await DeliveryQueueRepository(s).claim_due(hold + timedelta(seconds=1), 50, hold)
    own = sorted(d.job_id or "" for d in later if d.endpoint_id is None)
    assert own == [f"job_{i}" for i in range(4)]

"""Eight hours of a job's life on a fake clock, on SQLite and PostgreSQL (see `simulation.py`).

Each test moves the platform's wall clock a minute at a time. Over 8 simulated hours: lease
renewals, agent heartbeats, invocation-token renewals, checkpoints, AgentCore's idle timeout
held off by `HealthyBusy`, the session's 8 h maximum lifetime, and the job deadline (done at
7 h 59 min succeeds; still working at 8 h is `timed_out`, its session stopped, its webhook
sent). Then the same with the API, the worker and the agent killed at random points, and a
job longer than one session's lifetime that continues in a second session.
"""

from __future__ import annotations

import random
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from agentry.models import JobEvent, UsageEvent
from tests.jobs.simulation import (
    HOUR,
    start_job,
    terminal_webhooks,
    wait_webhook,
    world,
)


async def test_eight_hours_deadline(database_url: str, tmp_path: Path) -> None:
    async with world(database_url, tmp_path, work_s=9 * HOUR, deadline_s=28800) as w:
        job_id, secret = await start_job(w)
        await w.step()
        started = datetime.fromisoformat((await w.job(job_id))["started_at"])
        since_start = (started - w.clock.now).total_seconds() + w.clock.elapsed.total_seconds()
        await w.run_until(since_start + 7 * HOUR + 55 * 60)
        await w.run_until(since_start + 7 * HOUR + 59 * 60, step_s=60)
        assert (await w.job(job_id))["status"] == "running"  # 7 h 59 min into the job
        await w.run_until(since_start + 8 * HOUR + 60, step_s=60)
        job = await w.job(job_id)
        assert job["status"] == "timed_out", job
        assert job["error"]["code"] == "job_deadline_exceeded"
        [sid] = {d.session_id for d in w.runtime.deliveries}
        assert sid in w.runtime.stopped  # the platform stopped it (it ends at 8 h anyway)
        [hook] = await wait_webhook(w, job_id, secret)
        assert hook["type"] == "job.timed_out"
        assert len(await w.rows(UsageEvent, job_id)) == 1


async def test_job_longer_than_a_session_continues_in_a_new_one(
    database_url: str, tmp_path: Path
) -> None:
    async with world(
        database_url, tmp_path, work_s=10 * HOUR, deadline_s=12 * 3600, max_lifetime_s=8 * 3600
    ) as w:
        job_id, secret = await start_job(w)
        await w.run_until(11 * HOUR)
        job = await w.job(job_id)
        assert job["status"] == "succeeded", job
        assert job["sessions"] == 2
        assert job["attempts"] == 1  # a hand-over is not a retry
        first, second = w.runtime.deliveries
        assert first.session_id != second.session_id
        assert w.runtime.sessions[first.session_id].ended in ("max_lifetime", "stopped")
        resumed = second.payload["_agentry"]["checkpoint"]["done_s"]
        assert 7 * HOUR <= resumed < 8 * HOUR  # from the last checkpoint, not from zero
        [handover] = [e for e in await w.rows(JobEvent, job_id) if e.kind == "session"]
        assert handover.data["reason"] == "max_lifetime"
        assert handover.data["to_runtime_session_id"] == second.session_id
        assert handover.data["resumes_from_checkpoint"] is True
        [hook] = await wait_webhook(w, job_id, secret)
        assert hook["type"] == "job.succeeded"
        assert len(await w.rows(UsageEvent, job_id)) == 1


@pytest.mark.parametrize("seed", [7])
async def test_eight_hours_with_kills(database_url: str, tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    kills = ["api", "api", "worker", "worker", "agent", "agent"]
    rng.shuffle(kills)
    # One kill somewhere in each of the first six 50-minute slots.
    at = sorted(rng.uniform(i * 3000 + 300, (i + 1) * 3000) for i in range(len(kills)))
    plan = list(zip(at, kills, strict=True))
    async with world(database_url, tmp_path, work_s=5 * HOUR, deadline_s=28800) as w:
        job_id, secret = await start_job(w)
        while w.clock.elapsed.total_seconds() < 8 * HOUR:
            while plan and w.clock.elapsed.total_seconds() >= plan[0][0]:
                _, what = plan.pop(0)
                if what == "api":
                    await w.restart_api()
                elif what == "worker":
                    await w.kill_worker()
                else:
                    for sid in list(w.agent.work):
                        w.runtime.crash(sid)
            await w.step()
            if not plan and (await w.job(job_id))["status"] == "succeeded":
                break
        job = await w.job(job_id)
        assert job["status"] == "succeeded", job
        assert 2 <= job["attempts"] <= 1 + len(kills)  # worker and agent deaths were retried
        hooks = await wait_webhook(w, job_id, secret)
        for _ in range(5):
            await w.step()  # later sender passes must not send it again
        assert len(terminal_webhooks(w, job_id, secret)) == 1 == len(hooks)
        assert len(await w.rows(UsageEvent, job_id)) == 1
        async with w.app.platform.sessionmaker() as s:
            statuses = await s.execute(
                select(func.count()).where(JobEvent.job_id == job_id, JobEvent.kind == "status")
            )
            assert statuses.scalar_one() >= 2

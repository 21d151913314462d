"""Eight hours of a job's life on a fake clock, on SQLite and PostgreSQL (see `simulation.py`).

Each test moves the platform's wall clock a minute at a time. Over 8 simulated hours: lease
renewals, agent heartbeats, invocation-token renewals, checkpoints, AgentCore's idle timeout
held off by `HealthyBusy`, the session's 8 h maximum lifetime, and the job deadline (done at
7 h 59 min succeeds; still working at 8 h is `timed_out`, its session stopped, its webhook
sent). Then the same with the API, the worker and the agent killed at random points, and a
job longer than one session's lifetime that continues in a second session.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from standardwebhooks.webhooks import Webhook

from agentry.audit.wiring import build_audit_log
from agentry.jobs.background import signer_for
from agentry.jobs.worker import JobWorker
from agentry.kit.clock import use_clock
from agentry.kit.db.engine import create_engine, create_sessionmaker, session_scope
from agentry.kit.ids import new_id
from agentry.models import Agent, AgentAlias, AgentVersion, JobEvent, UsageEvent
from agentry.runtime.base import RuntimeTarget
from agentry.testing.inproc import InProcApp, running_app
from agentry.testing.receiver import Receiver, start_receiver
from agentry.webhooks.sender import WebhookSender
from tests.jobs.simulation import FakeClock, ScriptedAgent, SimulatedAgentCore

STEP_S = 300.0  # under the lease, the token TTL and the heartbeat period
HOUR = 3600.0
SETTINGS: dict[str, Any] = {
    "jobs_embedded_workers": False,  # the test runs the worker, as `agentry worker` would
    "webhook_allow_private": True,
    "job_lease_s": 600,
    "job_heartbeat_s": 60,
    "job_poll_interval_s": 0.001,  # real seconds: the attempt loop looks at every step
    "job_agent_silence_s": 1200,
    "job_retry_backoff_s": 60,
    "job_max_attempts": 10,
    "invocation_token_ttl_s": 900,
    "auth_failure_limit": "10000/minute",
}


@dataclass
class World:
    app: InProcApp
    clock: FakeClock
    runtime: SimulatedAgentCore
    agent: ScriptedAgent
    worker: JobWorker
    sender: WebhookSender
    receiver: Receiver
    tenant_key: str
    restart_api: Any
    kill_worker: Any

    async def step(self, seconds: float = STEP_S) -> None:
        self.clock.advance(seconds)
        self.runtime.reap()
        await self.worker.heartbeat_once()
        await self.worker.reap_once()
        await self.worker.claim_once()
        await asyncio.sleep(0.002)  # real time for the attempt loops to look at the clock
        await self.agent.tick(seconds)
        await asyncio.sleep(0.002)
        await self.sender.run_once()

    async def run_until(self, elapsed_s: float, step_s: float = STEP_S) -> None:
        while self.clock.elapsed.total_seconds() < elapsed_s:
            await self.step(step_s)

    async def job(self, job_id: str) -> dict[str, Any]:
        async with self.app.client(self.tenant_key) as c:
            resp = await c.get(f"/v1/jobs/{job_id}")
        assert resp.status_code == 200, resp.text
        body: dict[str, Any] = resp.json()
        return body

    async def rows(self, model: Any, job_id: str) -> list[Any]:
        async with self.app.platform.sessionmaker() as s:
            column = model.invocation_id if model is UsageEvent else model.job_id
            return list((await s.execute(select(model).where(column == job_id))).scalars())


async def _register(app: InProcApp, *, deadline_s: int, max_lifetime_s: int) -> None:
    manifest = {
        "name": "marathon",
        "modes": ["async"],
        "limits": {
            "job_deadline_s": deadline_s,
            "max_lifetime_s": max_lifetime_s,
            "idle_timeout_s": 900,
        },
    }
    async with session_scope(app.platform.sessionmaker) as s:
        agent = Agent(
            id=new_id("agt"),
            name="marathon",
            runtime_id="marathon-0000000000",
            runtime_arn="arn:aws:bedrock-agentcore:eu-west-1:000000000000:runtime/marathon",
            modes=["async"],
        )
        s.add(agent)
        await s.flush()
        s.add(
            AgentVersion(
                id=new_id("agv"),
                agent_id=agent.id,
                number=1,
                digest="sha256:" + "0" * 64,
                runtime_version="1",
                artifact_uri="s3://agentry-artifacts/marathon/1.zip",
                manifest=manifest,
            )
        )
        s.add(AgentAlias(id=new_id("als"), agent_id=agent.id, name="live", version_number=1))


@asynccontextmanager
async def world(
    database_url: str, home: Path, *, work_s: float, deadline_s: int, max_lifetime_s: int = 28800
) -> AsyncIterator[World]:
    clock = FakeClock()
    runtime = SimulatedAgentCore(clock, idle_timeout_s=900, max_lifetime_s=max_lifetime_s)
    receiver = start_receiver()
    # The worker and sender have their own engine, as an `agentry worker` process does.
    engine = create_engine(database_url)
    maker = create_sessionmaker(engine)
    async with AsyncExitStack() as stack:
        stack.callback(receiver.close)
        stack.push_async_callback(engine.dispose)
        stack.enter_context(use_clock(clock))
        apps: list[InProcApp] = []
        api_exit = AsyncExitStack()
        apps.append(await api_exit.enter_async_context(running_app(database_url, home, **SETTINGS)))
        app = apps[0]
        settings = app.settings
        tenant = await app.tenant("acme")
        key = (await app.key(tenant)).secret
        await _register(app, deadline_s=deadline_s, max_lifetime_s=max_lifetime_s)
        api_client = app.client()
        agent = ScriptedAgent(runtime, api_client, work_s)
        workers = [
            JobWorker(maker, runtime, signer_for(settings), settings, owner="w1", clock=clock)
        ]
        sender = WebhookSender(maker, settings, audit=build_audit_log(settings, maker))

        async def restart_api() -> None:
            """The API process dies and comes back: in-flight requests and memory are lost."""
            nonlocal api_exit
            await agent.api.aclose()
            await api_exit.aclose()
            api_exit = AsyncExitStack()
            fresh = await api_exit.enter_async_context(running_app(database_url, home, **SETTINGS))
            w.app = fresh
            agent.api = fresh.client()

        async def kill_worker() -> None:
            """The worker dies without a word: its leases run out and another reaper acts."""
            await w.worker.stop()
            w.worker = JobWorker(
                maker,
                runtime,
                signer_for(settings),
                settings,
                owner=f"w{len(workers) + 1}",
                clock=clock,
            )
            workers.append(w.worker)

        w = World(
            app, clock, runtime, agent, workers[0], sender, receiver, key, restart_api, kill_worker
        )
        try:
            yield w
        finally:
            for worker in workers:
                await worker.stop()
            await agent.api.aclose()
            await api_exit.aclose()


async def _start_job(w: World) -> tuple[str, str]:
    async with w.app.client(w.tenant_key) as c:
        resp = await c.post(
            "/v1/agents/marathon/jobs",
            json={"input": {"task": "long"}, "webhook_url": f"{w.receiver.url}/hook"},
        )
    assert resp.status_code == 202, resp.text
    body = resp.json()
    return body["id"], body["webhook_secret"]


def _terminal_webhooks(w: World, job_id: str, secret: str) -> list[dict[str, Any]]:
    """Terminal webhooks for the job, each signature checked with `standardwebhooks`.

    `Webhook.verify` compares the timestamp with the real clock, which this test has moved
    8 h ahead, so the signature is recomputed by the library and compared instead.
    """
    hooks = []
    for hit in w.receiver.on("/hook"):
        body = hit.json
        if body.get("data", {}).get("job_id") != job_id:
            continue
        at = datetime.fromtimestamp(int(hit.headers["webhook-timestamp"]), tz=w.clock.now.tzinfo)
        expected = Webhook(secret).sign(hit.webhook_id, at, hit.body.decode())
        assert expected in hit.headers["webhook-signature"].split(" "), "bad signature"
        hooks.append(body)
    return hooks


async def _wait_webhook(w: World, job_id: str, secret: str) -> list[dict[str, Any]]:
    for _ in range(200):
        hooks = _terminal_webhooks(w, job_id, secret)
        if hooks:
            return hooks
        await w.sender.run_once()
        await asyncio.sleep(0.02)
    raise AssertionError("no terminal webhook")


async def test_eight_hours_clean(database_url: str, tmp_path: Path) -> None:
    async with world(database_url, tmp_path, work_s=7 * HOUR + 59 * 60, deadline_s=28800) as w:
        job_id, secret = await _start_job(w)
        idle_control = await w.runtime.invoke(  # a session nobody works in
            RuntimeTarget(runtime_arn="arn:x", qualifier="live"),
            "idle-" + "0" * 40,
            b"{}",
            request_id="r",
            timeout=1,
        )
        w.runtime.sessions[idle_control.session_id].ping_status = "Healthy"
        w.agent.seen = len(w.runtime.deliveries)  # not a job delivery

        await w.run_until(1 * HOUR)
        assert w.runtime.sessions[idle_control.session_id].ended == "idle"
        assert (await w.job(job_id))["status"] == "running"
        async with w.app.client() as c:  # the first token expired long ago: renewal is needed
            stale = await c.post(
                f"/agent/v1/jobs/{job_id}/progress",
                json={"percent": 1},
                headers={"Authorization": f"Bearer {w.agent.first_token}"},
            )
        assert stale.status_code == 401, stale.text

        await w.run_until(7 * HOUR + 50 * 60)
        await w.run_until(7 * HOUR + 58 * 60, step_s=60)
        job = await w.job(job_id)
        assert job["status"] == "running"  # a minute of work left
        await w.run_until(7 * HOUR + 59 * 60, step_s=60)
        job = await w.job(job_id)
        assert job["status"] == "succeeded", job
        assert job["result"] == {"done_s": 7 * HOUR + 59 * 60}
        assert job["attempts"] == 1  # 8 h on 10-min leases, renewed: never retried
        assert job["sessions"] == 1
        ran = datetime.fromisoformat(job["finished_at"]) - datetime.fromisoformat(job["created_at"])
        assert timedelta(hours=7, minutes=58) <= ran < timedelta(hours=8)
        assert w.agent.refused == []  # every heartbeat and checkpoint with a renewed token
        [session] = [s for s in w.runtime.sessions.values() if s.session_id != "idle-" + "0" * 40]
        assert session.ended is None  # HealthyBusy held off the 15-min idle timeout for 8 h
        events = await w.rows(JobEvent, job_id)
        assert sum(e.kind == "checkpoint" for e in events) >= 15
        assert sum(e.kind == "progress" for e in events) >= 45

        # Done, the agent idles; its session reaches its 8 h maximum before the idle timeout.
        await w.run_until(8 * HOUR + 10 * 60)
        assert session.ended == "max_lifetime"
        assert [e.kind for e in await w.rows(JobEvent, job_id)].count("session") == 0
        [hook] = await _wait_webhook(w, job_id, secret)
        assert hook["type"] == "job.succeeded"
        assert len(await w.rows(UsageEvent, job_id)) == 1


async def test_eight_hours_deadline(database_url: str, tmp_path: Path) -> None:
    async with world(database_url, tmp_path, work_s=9 * HOUR, deadline_s=28800) as w:
        job_id, secret = await _start_job(w)
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
        [hook] = await _wait_webhook(w, job_id, secret)
        assert hook["type"] == "job.timed_out"
        assert len(await w.rows(UsageEvent, job_id)) == 1


async def test_job_longer_than_a_session_continues_in_a_new_one(
    database_url: str, tmp_path: Path
) -> None:
    async with world(
        database_url, tmp_path, work_s=10 * HOUR, deadline_s=12 * 3600, max_lifetime_s=8 * 3600
    ) as w:
        job_id, secret = await _start_job(w)
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
        [hook] = await _wait_webhook(w, job_id, secret)
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
        job_id, secret = await _start_job(w)
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
        hooks = await _wait_webhook(w, job_id, secret)
        for _ in range(5):
            await w.step()  # later sender passes must not send it again
        assert len(_terminal_webhooks(w, job_id, secret)) == 1 == len(hooks)
        assert len(await w.rows(UsageEvent, job_id)) == 1
        async with w.app.platform.sessionmaker() as s:
            statuses = await s.execute(
                select(func.count()).where(JobEvent.job_id == job_id, JobEvent.kind == "status")
            )
            assert statuses.scalar_one() >= 2

"""8 hours of a job in seconds: a fake wall clock, AgentCore's session rules, a scripted agent.

What is real: the API app (in-process, its agent callback endpoints, token signing and
verification), the job worker (claims, lease renewals, reaper, deadlines, session hand-over),
the webhook sender (real HTTP to a local receiver) and the database. What stands in: the
runtime, which cannot run for eight simulated hours. `SimulatedAgentCore` keeps sessions by
AgentCore's rules, decided by the emulator's own `lifecycle_verdict` on the fake clock, and
`ScriptedAgent` is an async agent that works, heartbeats, checkpoints and resumes as the
agent SDK's contract asks, calling back over the API with the token each answer renews.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select
from standardwebhooks.webhooks import Webhook

from agentry.audit.wiring import build_audit_log
from agentry.jobs.background import signer_for
from agentry.jobs.worker import JobWorker
from agentry.kit.clock import use_clock
from agentry.kit.db.engine import create_engine, create_sessionmaker, session_scope
from agentry.kit.ids import new_id
from agentry.models import Agent, AgentAlias, AgentVersion, UsageEvent
from agentry.runtime.base import InvokeResult, RuntimeTarget
from agentry.runtime.emulator.sessions import lifecycle_verdict
from agentry.testing.inproc import InProcApp, running_app
from agentry.testing.receiver import Receiver, start_receiver
from agentry.webhooks.sender import WebhookSender

T0 = datetime.now(UTC).replace(microsecond=0)


class FakeClock:
    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    @property
    def elapsed(self) -> timedelta:
        return self.now - T0

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class SimSession:
    session_id: str
    started_at: float
    idle_timeout_s: float
    max_lifetime_s: float
    last_activity: float
    last_update: float = 0.0
    ping_status: str = "HealthyBusy"
    inflight: int = 0
    ended: str | None = None  # why AgentCore ended it: max_lifetime, idle, stopped, crashed


@dataclass
class Delivery:
    """One invocation AgentCore handed to a session: what the agent was given."""

    session_id: str
    payload: dict[str, Any]


class SimulatedAgentCore:
    """An `AgentRuntime` whose sessions live by AgentCore's lifecycle rules on the fake clock."""

    def __init__(self, clock: FakeClock, *, idle_timeout_s: float, max_lifetime_s: float) -> None:
        self.clock = clock
        self.idle_timeout_s = idle_timeout_s
        self.max_lifetime_s = max_lifetime_s
        self.sessions: dict[str, SimSession] = {}
        self.ended: list[SimSession] = []
        self.deliveries: list[Delivery] = []
        self.stopped: list[str] = []

    def _now(self) -> float:
        return self.clock().timestamp()

    def live(self, session_id: str) -> SimSession | None:
        session = self.sessions.get(session_id)
        return session if session is not None and session.ended is None else None

    async def start(self) -> None:
        return None

    async def invoke(
        self,
        target: RuntimeTarget,
        session_id: str,
        payload: bytes,
        *,
        request_id: str,
        timeout: float,
        headers: Mapping[str, str] | None = None,
    ) -> InvokeResult:
        session = self.live(session_id)
        if session is None:  # AgentCore starts a fresh microVM for an id with no live session
            now = self._now()
            session = SimSession(
                session_id, now, self.idle_timeout_s, self.max_lifetime_s, last_activity=now
            )
            self.sessions[session_id] = session
        session.last_activity = self._now()
        self.deliveries.append(Delivery(session_id, json.loads(payload)))
        return InvokeResult(session_id, "application/json", b'{"status":"accepted"}')

    def invoke_stream(self, *_args: Any, **_kwargs: Any) -> Any:
        raise NotImplementedError("the simulation runs jobs only")

    async def stop_session(self, target: RuntimeTarget, session_id: str) -> None:
        self.stopped.append(session_id)
        self._end(session_id, "stopped")

    async def aclose(self) -> None:
        return None

    def crash(self, session_id: str) -> None:
        self._end(session_id, "crashed")

    def reap(self) -> None:
        now = self._now()
        for session in list(self.sessions.values()):
            if session.ended is None and (why := lifecycle_verdict(session, now)) is not None:
                self._end(session.session_id, why)

    def _end(self, session_id: str, why: str) -> None:
        session = self.live(session_id)
        if session is not None:
            session.ended = why
            self.ended.append(session)


@dataclass
class Work:
    """One delivery the agent is working on."""

    job_id: str
    session_id: str
    token: str
    done_s: float
    last_progress: float
    last_checkpoint: float
    finished: bool = False


@dataclass
class ScriptedAgent:
    """An async agent that needs `work_s` of work, resumable from its `done_s` checkpoint."""

    runtime: SimulatedAgentCore
    api: httpx.AsyncClient
    work_s: float
    progress_every_s: float = 600.0
    checkpoint_every_s: float = 1800.0
    seen: int = 0
    work: dict[str, Work] = field(default_factory=dict)
    first_token: str | None = None
    refused: list[int] = field(default_factory=list)  # statuses of callbacks the API refused

    def _take_deliveries(self) -> None:
        for delivery in self.runtime.deliveries[self.seen :]:
            ctx = delivery.payload["_agentry"]
            done = float((ctx.get("checkpoint") or {}).get("done_s", 0.0))
            now = self.runtime.clock().timestamp()
            self.work[delivery.session_id] = Work(
                ctx["job_id"], delivery.session_id, ctx["token"], done, now, now
            )
            self.first_token = self.first_token or ctx["token"]
        self.seen = len(self.runtime.deliveries)

    async def _call(self, work: Work, path: str, body: dict[str, Any]) -> bool:
        resp = await self.api.post(
            f"/agent/v1/jobs/{work.job_id}/{path}",
            json=body,
            headers={"Authorization": f"Bearer {work.token}"},
        )
        if resp.status_code != 200:
            self.refused.append(resp.status_code)
            return False
        work.token = resp.json()["token"]  # the renewed token for the next call
        return True

    async def tick(self, step_s: float) -> None:
        self._take_deliveries()
        now = self.runtime.clock().timestamp()
        for sid, work in list(self.work.items()):
            session = self.runtime.live(sid)
            if session is None:
                del self.work[sid]  # the session ended: the process and its memory are gone
                continue
            if work.finished:
                session.ping_status = "Healthy"  # done: idle from here on
                continue
            session.ping_status, session.last_update = "HealthyBusy", now
            work.done_s += step_s
            if work.done_s >= self.work_s:
                result = {"result": {"done_s": self.work_s}}
                work.finished = await self._call(work, "result", result)
                continue
            if now - work.last_checkpoint >= self.checkpoint_every_s:
                work.last_checkpoint = now
                await self._call(work, "checkpoint", {"checkpoint": {"done_s": work.done_s}})
            if now - work.last_progress >= self.progress_every_s:
                work.last_progress = now
                percent = round(100 * work.done_s / self.work_s, 2)
                await self._call(work, "progress", {"percent": percent})


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
    database_url: str,
    home: Path,
    *,
    work_s: float,
    deadline_s: int,
    max_lifetime_s: int = 28800,
    **overrides: Any,
) -> AsyncIterator[World]:
    settings_in = {**SETTINGS, **overrides}
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
        apps.append(
            await api_exit.enter_async_context(running_app(database_url, home, **settings_in))
        )
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
            fresh = await api_exit.enter_async_context(
                running_app(database_url, home, **settings_in)
            )
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


async def start_job(w: World) -> tuple[str, str]:
    async with w.app.client(w.tenant_key) as c:
        resp = await c.post(
            "/v1/agents/marathon/jobs",
            json={"input": {"task": "long"}, "webhook_url": f"{w.receiver.url}/hook"},
        )
    assert resp.status_code == 202, resp.text
    body = resp.json()
    return body["id"], body["webhook_secret"]


def terminal_webhooks(w: World, job_id: str, secret: str) -> list[dict[str, Any]]:
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


async def wait_webhook(w: World, job_id: str, secret: str) -> list[dict[str, Any]]:
    for _ in range(200):
        hooks = terminal_webhooks(w, job_id, secret)
        if hooks:
            return hooks
        await w.sender.run_once()
        await asyncio.sleep(0.02)
    raise AssertionError("no terminal webhook")

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

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from agentry.runtime.base import InvokeResult, RuntimeTarget
from agentry.runtime.emulator.sessions import lifecycle_verdict

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

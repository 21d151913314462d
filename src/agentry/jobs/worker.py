"""The dispatcher: claims queued jobs under a lease, runs them, renews leases, reaps.

Runs embedded in the API process (local profile) or as `agentry worker` processes; any
number of them share one database. A claim is a `SELECT ... FOR UPDATE SKIP LOCKED`
(PostgreSQL) or a `BEGIN IMMEDIATE` transaction (SQLite). A worker that dies stops renewing;
the reaper of any live worker returns its jobs to the queue with backoff, and fails them after
the last attempt. A job past its deadline becomes `timed_out` and its runtime session stops.
A runtime session lives at most its version's `max_lifetime_s` (8 h on AgentCore): an async job
still running then continues in a new session from its last checkpoint, without spending an
attempt (a `session` event records each hand-over), so a job's deadline may be up to 24 h.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from opentelemetry.trace import SpanKind
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agentry.agent_auth.tokens import TokenSigner
from agentry.billing.prices import PriceBook
from agentry.config import Settings
from agentry.invocations.context import CONTEXT_KEY, AgentContext, Invocation
from agentry.invocations.service import _output_json
from agentry.invocations.sessions import runtime_session_id
from agentry.jobs import metrics
from agentry.jobs.repository import JobQueueRepository, JobRepository
from agentry.jobs.service import (
    Finish,
    Finished,
    ResultTooLarge,
    finish_job,
    finish_jobs,
    result_size,
    too_large_message,
)
from agentry.kit import tracing
from agentry.kit.clock import utcnow
from agentry.kit.db.batch import GroupCommit
from agentry.kit.db.engine import session_scope
from agentry.kit.errors import AgentryError
from agentry.kit.ids import new_id
from agentry.kit.logging import get_logger
from agentry.metering.service import Pricing
from agentry.models import Job, Tenant, WebhookDelivery
from agentry.models.job import TERMINAL, JobStatus
from agentry.registry.repository import AgentVersionRepository
from agentry.registry.routing import delegates, gateway_tools
from agentry.runtime.base import (
    AgentFailed,
    AgentRuntime,
    AgentTimeout,
    RuntimeTarget,
)

log = get_logger("agentry.jobs.worker")
ACK_TIMEOUT_S = 60.0
MAX_BACKOFF_S = 300.0


class AttemptLost(Exception):
    """The attempt cannot finish (agent process gone, silent, or unreachable): retry it."""


class SessionEnded(Exception):
    """The job's runtime session reached its max lifetime: continue in a new one."""

    def __init__(self, reason: str, current: Job) -> None:
        super().__init__(reason)
        self.current = current


@dataclass(frozen=True, slots=True)
class VersionFacts:
    """What the worker needs from a version's manifest; a version never changes."""

    tools: frozenset[str] | None
    agents: frozenset[str]  # the agents it may delegate to
    max_lifetime_s: int


class Handoff(Protocol):
    """The webhook sender in this process, as the worker sees it (`WebhookSender`)."""

    def reserve(self) -> datetime | None: ...

    def send(self, deliveries: Sequence[WebhookDelivery]) -> None: ...

    def wake(self) -> None: ...


def worker_id(kind: str) -> str:
    return f"{kind}:{socket.gethostname()}:{os.getpid()}:{new_id('w')[2:10]}"


class JobWorker:
    def __init__(
        self,
        maker: async_sessionmaker[AsyncSession],
        runtime: AgentRuntime,
        signer: TokenSigner,
        settings: Settings,
        *,
        owner: str,
        prices: Pricing | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._maker = maker
        self._prices: Pricing = prices or PriceBook.from_mapping(settings.price_book)
        self._runtime = runtime
        self._context = AgentContext(signer, settings.effective_public_url)
        self._versions: dict[tuple[str, int], VersionFacts] = {}
        self._settings = settings
        self.owner = owner
        self._clock = clock
        self._running: dict[str, asyncio.Task[None]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._wake = asyncio.Event()
        # Terminal transitions of jobs finishing together share one transaction.
        self._finishes = GroupCommit(maker)
        # The sender in this process: a finished job's webhook goes to it in memory at once.
        self.webhooks: Handoff | None = None

    # lifecycle

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._dispatch_loop(), name="jobs-dispatch"),
            asyncio.create_task(self._heartbeat_loop(), name="jobs-heartbeat"),
        ]
        log.info("jobs.worker_started", owner=self.owner)

    async def stop(self) -> None:
        """Stop claiming; running jobs are abandoned and retried by another worker's reaper."""
        for task in [*self._tasks, *self._running.values()]:
            task.cancel()
        for task in [*self._tasks, *self._running.values()]:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self._finishes.close()

    def wake(self) -> None:
        self._wake.set()

    async def region_switched(self, previous: str, active: str) -> None:
        """The runtime region moved (RUNBOOK-001): the jobs running here were placed in the
        old one. Start each again at once in the new region, from its last checkpoint; the
        lost attempt does not count against the job's allowance."""
        tasks = dict(self._running)
        for task in tasks.values():
            task.cancel()
        await asyncio.gather(*tasks.values(), return_exceptions=True)
        if not tasks:
            return
        async with session_scope(self._maker) as session:
            queue = JobQueueRepository(session)
            for job_id in tasks:
                await queue.requeue(
                    job_id,
                    self.owner,
                    {
                        "status": JobStatus.queued.value,
                        "lease_owner": None,
                        "lease_expires_at": None,
                        "available_at": self._clock(),
                        # The counter stays monotonic (callbacks of the lost attempt are stale);
                        # the lost attempt is given back through the allowance instead.
                        "max_attempts": Job.max_attempts + 1,
                        "error_message": f"runtime region moved from {previous} to {active}",
                    },
                )
        log.warning("jobs.moved_region", jobs=len(tasks), previous=previous, active=active)
        self.wake()

    # loops

    async def _dispatch_loop(self) -> None:
        while True:
            try:
                await self.claim_once()
            except Exception:
                log.exception("jobs.claim_failed")
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._settings.job_poll_interval_s)

    async def _heartbeat_loop(self) -> None:
        while True:
            await asyncio.sleep(self._settings.job_heartbeat_s)
            try:
                await self.heartbeat_once()
                await self.reap_once()
                await self.measure_once()
            except Exception:
                log.exception("jobs.heartbeat_failed")

    def _lease_until(self) -> datetime:
        return self._clock() + timedelta(seconds=self._settings.job_lease_s)

    async def claim_once(self) -> int:
        free = self._settings.job_worker_concurrency - len(self._running)
        if free <= 0:
            return 0
        concurrency = {
            tier: self._settings.job_concurrency(tier) for tier in ("basic", "standard", "premium")
        }
        async with session_scope(self._maker) as session:
            jobs = await JobQueueRepository(session).claim(
                now=self._clock(),
                owner=self.owner,
                limit=free,
                lease_until=self._lease_until(),
                concurrency=concurrency,
            )
            tiers = {j.tenant_id: await session.get(Tenant, j.tenant_id) for j in jobs}
            invocations = [
                await self._invocation(session, job, tiers.get(job.tenant_id)) for job in jobs
            ]
        for job, invocation in zip(jobs, invocations, strict=True):
            task = asyncio.create_task(self._run(job, invocation))
            self._running[job.id] = task
            task.add_done_callback(self._forget(job.id))
            log.info("jobs.claimed", job=job.id, attempt=job.attempts, owner=self.owner)
        return len(jobs)

    async def _invocation(
        self, session: AsyncSession, job: Job, tenant: Tenant | None
    ) -> Invocation:
        """Every attempt of a job is one invocation: its id is the job's (one metering key)."""
        facts = await self._facts(session, job)
        return Invocation(
            tenant_id=job.tenant_id,
            tier=tenant.tier if tenant else "basic",
            agent=job.agent_name,
            version=job.version_number,
            invocation_id=job.id,
            session_id=job.runtime_session_id,
            tools=facts.tools,
            agents=facts.agents,
            chain=(job.agent_name,),
            trace_id=job.id,
        )

    async def _facts(self, session: AsyncSession, job: Job) -> VersionFacts:
        key = (job.agent_id, job.version_number)
        if key not in self._versions:
            version = await AgentVersionRepository(session).get_by_number(*key)
            manifest = version.manifest if version else {}
            lifetime = (manifest.get("limits") or {}).get("max_lifetime_s")
            self._versions[key] = VersionFacts(
                tools=gateway_tools(manifest),
                agents=delegates(manifest),
                max_lifetime_s=min(
                    int(lifetime) if isinstance(lifetime, int | float) else 28800,
                    self._settings.runtime_max_lifetime_s,
                ),
            )
        return self._versions[key]

    def _forget(self, job_id: str) -> Callable[[asyncio.Task[None]], None]:
        def done(_task: asyncio.Task[None]) -> None:
            self._running.pop(job_id, None)

        return done

    async def heartbeat_once(self) -> None:
        ids = list(self._running)
        if not ids:
            return
        async with session_scope(self._maker) as session:
            held = await JobQueueRepository(session).renew(self.owner, ids, self._lease_until())
        for job_id in ids:
            if job_id not in held and job_id in self._running:
                # Cancelled, timed out or reaped elsewhere: stop working on it.
                self._running[job_id].cancel()

    async def measure_once(self) -> None:
        now = self._clock()
        async with self._maker() as session:
            counts, oldest = await JobQueueRepository(session).backlog(now)
        metrics.record(counts, oldest, now)

    async def reap_once(self) -> None:
        now = self._clock()
        stops: list[Job] = []
        async with session_scope(self._maker) as session:
            queue = JobQueueRepository(session)
            for job in await queue.past_deadline(now):
                if await finish_job(
                    session,
                    job,
                    JobStatus.timed_out,
                    prices=self._prices,
                    error_code="job_deadline_exceeded",
                    error_message=f"the job ran past its {job.deadline_s}s deadline",
                ):
                    stops.append(job)
            for job in await queue.expired(now):
                await self._retry_or_fail(
                    session, job, None, "worker lost: its lease expired", now=now
                )
        for job in stops:
            await self._stop_session(job)

    # one job

    async def _run(self, job: Job, invocation: Invocation) -> None:
        loop = asyncio.get_running_loop()
        assert job.deadline_at is not None
        remaining = (job.deadline_at - self._clock()).total_seconds()
        try:
            # Each attempt is its own trace (the job row does not keep the submitter's context).
            with tracing.span(
                f"invoke_agent {job.agent_name}",
                kind=SpanKind.CLIENT,
                attributes={
                    tracing.OPERATION: "invoke_agent",
                    "gen_ai.agent.name": job.agent_name,
                    tracing.TENANT: job.tenant_id,
                    tracing.INVOCATION: invocation.invocation_id,
                    "agentry.invocation.mode": "job",
                    "agentry.job.attempt": job.attempts,
                },
            ):
                async with asyncio.timeout_at(loop.time() + max(remaining, 0.0)):
                    if job.async_agent:
                        await self._run_async(job, invocation)
                    else:
                        await self._run_plain(job, invocation, remaining)
        except TimeoutError:
            await self._finish(
                job,
                JobStatus.timed_out,
                error_code="job_deadline_exceeded",
                error_message=f"the job ran past its {job.deadline_s}s deadline",
            )
            await self._stop_session(job)
        except AttemptLost as exc:
            async with session_scope(self._maker) as session:
                await self._retry_or_fail(session, job, self.owner, str(exc), now=self._clock())
        except SessionEnded as exc:
            await self._stop_session(job)  # AgentCore has ended it; the emulator may lag
            await self._hand_over(job, str(exc), has_checkpoint=exc.current.checkpoint is not None)
        except asyncio.CancelledError:
            # Lost the lease (cancelled by the tenant, reaped, or shutting down).
            async with session_scope(self._maker) as session:
                current = await session.get(
                    Job, job.id
                )  # scoping: exempt (the worker re-reads the job it holds the lease on)
            if current is not None and current.status in (
                JobStatus.cancelled.value,
                JobStatus.timed_out.value,
            ):
                await self._stop_session(job)
            raise
        except Exception:
            log.exception("jobs.run_failed", job=job.id)
            async with session_scope(self._maker) as session:
                await self._retry_or_fail(
                    session, job, self.owner, "internal error", now=self._clock()
                )

    async def _run_plain(self, job: Job, invocation: Invocation, remaining: float) -> None:
        """A plain handler: one call within the sync limits, the answer is the result."""
        timeout = max(0.1, min(self._settings.sync_timeout_s, remaining))
        data = job.input
        if invocation.uses_gateways:
            data = self._context.inject(data, invocation)
        payload = json.dumps(data, separators=(",", ":")).encode()
        try:
            answer = await self._runtime.invoke(
                self._target(job),
                job.runtime_session_id,
                payload,
                request_id=job.id,
                timeout=timeout,
            )
        except AgentTimeout as exc:
            await self._finish(job, JobStatus.failed, error_code=exc.code, error_message=exc.detail)
            return
        except AgentFailed as exc:
            await self._finish(job, JobStatus.failed, error_code=exc.code, error_message=exc.detail)
            return
        except AgentryError as exc:
            raise AttemptLost(f"{exc.code}: {exc.detail}") from exc
        result = json.loads(_output_json(answer.content_type, answer.body))
        size, limit = result_size(result), self._settings.job_max_result_bytes
        if size > limit:
            await self._finish(
                job,
                JobStatus.failed,
                error_code=ResultTooLarge.code,
                error_message=too_large_message(size, limit),
            )
            return
        await self._finish(job, JobStatus.succeeded, result=result)

    async def _run_async(self, job: Job, invocation: Invocation) -> None:
        """The AgentCore async pattern: the agent acknowledges, then calls back until done."""
        payload: dict[str, Any] = dict(job.input)
        payload[CONTEXT_KEY] = {
            **(self._context.gateway_urls(invocation) if invocation.uses_gateways else {}),
            "job_id": job.id,
            "attempt": job.attempts,
            # One token for the callbacks and, when the manifest asks, the gateways.
            "token": self._context.token(invocation, jobs=True, attempt=job.attempts),
            "callback_url": f"{self._settings.effective_public_url}/agent/v1/jobs/{job.id}",
            "checkpoint": job.checkpoint,
        }
        body = json.dumps(payload, separators=(",", ":")).encode()
        started = self._clock()
        try:
            await self._runtime.invoke(
                self._target(job),
                job.runtime_session_id,
                body,
                request_id=job.id,
                timeout=ACK_TIMEOUT_S,
            )
        except AgentFailed as exc:
            await self._finish(job, JobStatus.failed, error_code=exc.code, error_message=exc.detail)
            return
        except AgentryError as exc:
            raise AttemptLost(f"{exc.code}: {exc.detail}") from exc
        silence = timedelta(seconds=self._settings.job_agent_silence_s)
        while True:
            await asyncio.sleep(self._settings.job_poll_interval_s)
            async with self._maker() as session:
                current = await session.get(
                    Job, job.id
                )  # scoping: exempt (the worker re-reads the job it holds the lease on)
            if current is None or current.status in TERMINAL:
                if current is not None and current.status == JobStatus.cancelled.value:
                    await self._stop_session(job)  # the agent's background work ends too
                return
            if current.status != JobStatus.running.value or current.lease_owner != self.owner:
                return  # re-queued or claimed elsewhere
            if self._session_over(current):
                raise SessionEnded("max_lifetime", current)
            seen = max(current.agent_seen_at or started, started)
            if self._clock() - seen > silence:
                raise AttemptLost(
                    f"agent silent for more than {self._settings.job_agent_silence_s:g}s"
                )

    def _session_over(self, job: Job) -> bool:
        facts = self._versions.get((job.agent_id, job.version_number))
        if facts is None or job.session_started_at is None:
            return False
        ends = job.session_started_at + timedelta(seconds=facts.max_lifetime_s)
        if job.deadline_at is not None and job.deadline_at <= ends:
            return False  # the deadline comes first: the reaper times the job out
        return self._clock() >= ends

    async def _hand_over(self, job: Job, reason: str, *, has_checkpoint: bool) -> None:
        """Queue the job again at once, in a new session, keeping its checkpoint and attempt."""
        number = job.sessions + 1
        new_sid = runtime_session_id(job.tenant_id, job.agent_id, f"{job.session_id}#{number}")
        now = self._clock()
        async with session_scope(self._maker) as session:
            moved = await JobQueueRepository(session).requeue(
                job.id,
                self.owner,
                {
                    "status": JobStatus.queued.value,
                    "lease_owner": None,
                    "lease_expires_at": None,
                    "available_at": now,
                    "attempts": max(job.attempts - 1, 0),  # a hand-over is not a failure
                    "runtime_session_id": new_sid,
                    "session_started_at": None,
                    "sessions": number,
                },
            )
            if moved:
                await JobRepository(session, job.tenant_id).add_event(
                    job.id,
                    "session",
                    {
                        "reason": reason,
                        "session": number,
                        "from_runtime_session_id": job.runtime_session_id,
                        "to_runtime_session_id": new_sid,
                        "resumes_from_checkpoint": has_checkpoint,
                    },
                    now,
                )
        log.info("jobs.session_handover", job=job.id, session=number, applied=moved)
        self.wake()

    # helpers

    @staticmethod
    def _target(job: Job) -> RuntimeTarget:
        return RuntimeTarget(runtime_arn=job.runtime_arn, qualifier=job.qualifier)

    async def _finish(self, job: Job, status: JobStatus, **kwargs: Any) -> None:
        finish = Finish(job.id, job.tenant_id, status, **kwargs)
        done: Finished | None = await self._finishes.run_many(self._finish_batch, finish)
        if done is not None and self.webhooks is not None:
            # Its webhook goes out now, not on a poll: the job's own row was written held for
            # this sender (`reserve`); endpoints' rows are due at once and the sender looks.
            self.webhooks.send(done.held)
            if len(done.held) < len(done.deliveries):
                self.webhooks.wake()
        log.info("jobs.finished", job=job.id, status=status.value, applied=done is not None)

    async def _finish_batch(
        self, session: AsyncSession, finishes: list[Finish]
    ) -> list[Finished | None]:
        """The terminal transitions of the jobs finishing together (one transaction)."""
        hold = self.webhooks.reserve() if self.webhooks is not None else None
        return await finish_jobs(session, finishes, prices=self._prices, hold_until=hold)

    async def _retry_or_fail(
        self, session: AsyncSession, job: Job, owner: str | None, reason: str, *, now: datetime
    ) -> None:
        if job.attempts >= job.max_attempts:
            await finish_job(
                session,
                job,
                JobStatus.failed,
                prices=self._prices,
                error_code="attempts_exhausted",
                error_message=f"{reason} (after {job.attempts} attempts)",
            )
            log.warning("jobs.failed_after_retries", job=job.id, reason=reason)
            return
        backoff = min(
            self._settings.job_retry_backoff_s * 2 ** max(job.attempts - 1, 0), MAX_BACKOFF_S
        )
        requeued = await JobQueueRepository(session).requeue(
            job.id,
            owner,
            {
                "status": JobStatus.queued.value,
                "lease_owner": None,
                "lease_expires_at": None,
                "available_at": now + timedelta(seconds=backoff),
                "error_message": reason,
            },
        )
        log.warning("jobs.retry", job=job.id, reason=reason, backoff_s=backoff, applied=requeued)

    async def _stop_session(self, job: Job) -> None:
        if job.session_id.startswith("pool-"):
            return  # a shared pooled session: other calls use it; the runtime reaps it idle
        try:
            await self._runtime.stop_session(self._target(job), job.runtime_session_id)
        except Exception as exc:  # best effort; the runtime reaps idle sessions anyway
            log.warning("jobs.stop_session_failed", job=job.id, error=str(exc))

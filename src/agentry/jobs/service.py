"""Job logic shared by the API, the agent callbacks and the dispatcher. Never commits."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from agentry.agent_auth.ended import end_invocations
from agentry.config import Settings
from agentry.identity.principal import Principal
from agentry.invocations.service import SESSION_POOL_SIZE
from agentry.invocations.sessions import pooled_session_id, runtime_session_id
from agentry.jobs.repository import JobRepository
from agentry.jobs.schemas import JobCreate, JobCreated, JobError, JobOut, JobPage
from agentry.kit.clock import utcnow
from agentry.kit.db.base import Base
from agentry.kit.db.batch import GroupCommit, insert_rows
from agentry.kit.errors import BadRequest, Conflict, NotFound, PayloadTooLarge
from agentry.kit.ids import new_id
from agentry.metering.service import RUNTIME_MS, Pricing, record_usages, runtime_row
from agentry.models import Job, WebhookDelivery
from agentry.models.job import TERMINAL, JobStatus
from agentry.policy.gate import InvocationGate
from agentry.registry.routing import RouteCache
from agentry.tenants.repository import TenantRepository
from agentry.webhooks.secretbox import SecretBox, new_secret
from agentry.webhooks.service import check_webhook_url, job_event_deliveries

DEFAULT_DEADLINE_S = 3600
MAX_DEADLINE_S = 86400  # longer than a session's 8 h: sessions hand over (see worker)
PAGE_MAX = 100


class JobNotFound(NotFound):
    code = "job_not_found"
    title = "No such job"


class JobFinished(Conflict):
    code = "job_finished"
    title = "The job has already finished"


class IdempotencyKeyReused(Conflict):
    code = "idempotency_key_reused"
    title = "The Idempotency-Key was used with a different request"


class JobsNotSupported(BadRequest):
    code = "mode_not_supported"
    title = "The agent does not support async jobs"


class StaleAttempt(Conflict):
    code = "stale_attempt"
    title = "This callback comes from an attempt that is no longer current"


class ResultTooLarge(PayloadTooLarge):
    code = "result_too_large"
    title = "The job result is larger than allowed"


def result_size(result: Any) -> int:
    return len(json.dumps(result, separators=(",", ":"), ensure_ascii=False).encode())


def too_large_message(size: int, limit: int) -> str:
    return (
        f"The result is {size} bytes; the limit is {limit}. Store large outputs elsewhere and "
        "return a reference."
    )


class BadCursor(BadRequest):
    code = "bad_cursor"
    title = "The pagination cursor is invalid"


@dataclass(frozen=True, slots=True)
class Created:
    job: Job
    webhook_secret: str | None
    replayed: bool
    rows: tuple[Base, ...] = ()


def request_hash(agent: str, body: JobCreate) -> str:
    canonical = json.dumps(
        {"agent": agent, **body.model_dump()}, sort_keys=True, separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


async def create_job(
    *,
    settings: Settings,
    routes: RouteCache,
    box: SecretBox,
    principal: Principal,
    agent_name: str,
    body: JobCreate,
    idempotency_key: str | None,
    gate: InvocationGate | None = None,
) -> Created:
    """Check the request and build the job; `Created.rows` are what the caller commits."""
    # Resolve first: the route cache reads in a session of its own, and on SQLite that must not
    # wait behind this request's write transaction.
    route = await routes.resolve(agent_name, body.alias)
    if gate is not None:  # before this session writes (the audit of a denial has its own)
        await gate.admit(principal, route, "job")
    # The Idempotency-Key is checked by the insert itself (unique per tenant), in the group
    # commit: no read per request; a conflict finds the first job (`commit_created`).
    digest = request_hash(agent_name, body)
    route.check_tier(principal.tier)
    if route.modes and not ({"async", "sync"} & route.modes):
        raise JobsNotSupported(f"Agent '{agent_name}' cannot run as a job.")
    if body.webhook_url is not None:
        await check_webhook_url(settings, body.webhook_url)
    deadline_s = route.job_deadline_s or DEFAULT_DEADLINE_S
    job_id = new_id("job")
    async_agent = "async" in route.modes
    # An async agent gets a session of its own (its background work occupies it, and a
    # timeout stops it); a plain handler shares the tenant's small pool, as sync calls do.
    client_sid = body.session_id or (
        f"job-{job_id}"
        if async_agent
        else pooled_session_id(route.version_number, SESSION_POOL_SIZE)
    )
    secret = new_secret() if body.webhook_url else None
    now = utcnow()
    job = Job(
        id=job_id,
        tenant_id=principal.tenant_id,
        agent_id=route.agent_id,
        agent_name=route.agent_name,
        version_number=route.version_number,
        alias=route.alias,
        runtime_arn=route.target.runtime_arn,
        qualifier=route.target.qualifier,
        async_agent=async_agent,
        session_id=client_sid,
        runtime_session_id=runtime_session_id(principal.tenant_id, route.agent_id, client_sid),
        status=JobStatus.queued.value,
        input=body.input,
        attempts=0,
        sessions=1,
        max_attempts=settings.job_max_attempts,
        available_at=now,
        deadline_s=min(deadline_s, MAX_DEADLINE_S),
        webhook_url=body.webhook_url,
        webhook_secret=box.seal(secret) if secret else None,
        idempotency_key=idempotency_key,
        request_hash=digest,
        api_key_id=principal.key_id,
        created_at=now,
    )
    event = JobRepository.event(job, "status", {"status": job.status}, now)
    return Created(job, secret, replayed=False, rows=(job, event))


async def commit_created(inserts: GroupCommit, created: Created, session: AsyncSession) -> Created:
    """Insert a new job and its first event (group-committed with other requests' jobs).

    A request whose Idempotency-Key is taken gets the first job back when the requests match
    (`replayed`), 409 when they do not. `session` only reads that first job.
    """
    try:
        await inserts.insert(created.rows)
    except IntegrityError as exc:
        job = created.job
        existing = None
        if job.idempotency_key:
            existing = await JobRepository(session, job.tenant_id).by_idempotency_key(
                job.idempotency_key
            )
        if existing is None:
            raise IdempotencyKeyReused("A request with this Idempotency-Key is in flight.") from exc
        if existing.request_hash != job.request_hash:
            raise IdempotencyKeyReused(
                "This Idempotency-Key was used for another request."
            ) from exc
        return Created(existing, None, replayed=True)
    return created


async def get_job(session: AsyncSession, tenant_id: str, job_id: str) -> Job:
    job = await JobRepository(session, tenant_id).get(job_id)
    if job is None:
        raise JobNotFound("No such job.")
    return job


def _encode_cursor(job: Job) -> str:
    raw = f"{job.created_at.isoformat()}|{job.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode()


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        at, _, id_ = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
        return datetime.fromisoformat(at), id_
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadCursor() from exc


async def list_jobs(
    session: AsyncSession,
    tenant_id: str,
    *,
    status: str | None,
    agent: str | None,
    cursor: str | None,
    limit: int,
) -> JobPage:
    limit = max(1, min(limit, PAGE_MAX))
    after = _decode_cursor(cursor) if cursor else None
    rows = await JobRepository(session, tenant_id).page(
        status=status, agent=agent, after=after, limit=limit + 1
    )
    items = list(rows[:limit])
    return JobPage(
        items=[to_out(j) for j in items],
        next_cursor=_encode_cursor(items[-1]) if len(rows) > limit else None,
    )


def to_out(job: Job) -> JobOut:
    error = JobError(code=job.error_code, message=job.error_message) if job.error_code else None
    return JobOut(
        id=job.id,
        agent=job.agent_name,
        version=job.version_number,
        alias=job.alias,
        status=job.status,
        session_id=job.session_id,
        progress=job.progress,
        result=job.result,
        error=error,
        attempts=job.attempts,
        sessions=job.sessions or 1,
        webhook_url=job.webhook_url,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
    )


def to_created(created: Created) -> JobCreated:
    return JobCreated(**to_out(created.job).model_dump(), webhook_secret=created.webhook_secret)


@dataclass(frozen=True, slots=True)
class Finish:
    """A terminal transition asked for (see `finish_jobs`)."""

    job_id: str
    tenant_id: str
    status: JobStatus
    result: Any = None
    error_code: str | None = None
    error_message: str | None = None


@dataclass(frozen=True, slots=True)
class Finished:
    job: Job
    deliveries: list[WebhookDelivery]  # its outbox rows, committed with it
    held: list[WebhookDelivery]  # of those, the ones held for the caller's sender (`hold_until`)


async def finish_jobs(
    session: AsyncSession,
    finishes: Sequence[Finish],
    *,
    prices: Pricing,
    hold_until: datetime | None = None,
) -> list[Finished | None]:
    """Move jobs to a terminal state, each exactly once, with their events, webhook outbox
    rows, ended invocations and usage: one `UPDATE ... RETURNING` per job, then one read of
    each tenant's tier and endpoints and one insert per table for the whole batch.

    None for a job that had already finished (another process won the race). `hold_until`:
    see `job_event_deliveries`."""
    now = utcnow()
    done: list[Job | None] = []
    for f in finishes:
        assert f.status in TERMINAL
        values: dict[str, Any] = {
            "status": f.status.value,
            "finished_at": now,
            "lease_owner": None,
            "lease_expires_at": None,
            "error_code": f.error_code,
            "error_message": f.error_message,
        }
        if f.status is JobStatus.succeeded:
            values["result"] = f.result
        done.append(await JobRepository(session, f.tenant_id).finish(f.job_id, values))
    jobs = [j for j in done if j is not None]
    if not jobs:
        return [None] * len(done)
    deliveries = await job_event_deliveries(session, jobs, hold_until=hold_until)
    events = [
        JobRepository.event(j, "status", {"status": j.status, "error": j.error_code}, now)
        for j in jobs
    ]
    await insert_rows(session, [*events, *(d for j in jobs for d in deliveries[j.id])])
    await end_invocations(session, [j.id for j in jobs])  # their tokens are refused from now on
    started = [j for j in jobs if j.started_at is not None]
    tiers = {}
    for tenant_id in sorted({j.tenant_id for j in started}):
        tenant = await TenantRepository(session).get(tenant_id)
        tiers[tenant_id] = tenant.tier if tenant is not None else "basic"
    await record_usages(
        session,
        [
            runtime_row(
                tenant_id=j.tenant_id,
                agent_id=j.agent_id,
                version_number=j.version_number,
                invocation_id=j.id,
                runtime_ms=round((now - j.started_at).total_seconds() * 1000),
                price=prices.price(tiers[j.tenant_id], RUNTIME_MS, at=now),
                at=now,
            )
            for j in started
            if j.started_at is not None
        ],
    )
    return [
        None
        if j is None
        else Finished(
            j,
            deliveries[j.id],
            [d for d in deliveries[j.id] if d.endpoint_id is None] if hold_until else [],
        )
        for j in done
    ]


async def finish_job(
    session: AsyncSession,
    job: Job,
    status: JobStatus,
    *,
    prices: Pricing,
    result: Any = None,
    error_code: str | None = None,
    error_message: str | None = None,
) -> Job | None:
    """`finish_jobs` for one job. `job` may come from another session; only its id and tenant
    are used. Returns the updated job, or None when it had already finished."""
    finish = Finish(job.id, job.tenant_id, status, result, error_code, error_message)
    (done,) = await finish_jobs(session, [finish], prices=prices)
    return done.job if done is not None else None


async def cancel_job(session: AsyncSession, tenant_id: str, job_id: str, *, prices: Pricing) -> Job:
    job = await get_job(session, tenant_id, job_id)
    done = None
    if job.status not in TERMINAL:
        done = await finish_job(
            session, job, JobStatus.cancelled, prices=prices, error_code="cancelled"
        )
    if done is None:
        raise JobFinished(f"Job '{job_id}' has already finished ({job.status}).")
    return done

"""Operator views: jobs across tenants, runtime sessions against the quota, one health summary."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from agentry.jobs import service as jobs
from agentry.kit.clock import utcnow
from agentry.kit.errors import BadRequest, NotFound
from agentry.models import Job
from agentry.ops.repository import OpsRepository
from agentry.ops.schemas import (
    Health,
    OpsJob,
    QueueState,
    RuntimeSession,
    SessionList,
    TenantSessions,
)
from agentry.platform import Platform
from agentry.runtime.base import RuntimeTarget

# Thresholds of the health summary; the alert rules (docs/alerts/) use the same numbers.
QUEUED_TOO_LONG_S = 600.0
SESSIONS_HIGH = 0.7


class SessionsNotListed(BadRequest):
    code = "sessions_not_listed"
    title = "Runtime sessions can be listed in the local profile only"


class RuntimeSessionNotFound(NotFound):
    code = "runtime_session_not_found"
    title = "No such runtime session"


def _age(now: datetime, at: datetime | None) -> float | None:
    if at is None:
        return None
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return round(max(0.0, (now - at).total_seconds()), 3)


def ops_job(job: Job, now: datetime) -> OpsJob:
    return OpsJob(
        **jobs.to_out(job).model_dump(), tenant_id=job.tenant_id, age_s=_age(now, job.created_at)
    )


async def list_jobs(
    session: AsyncSession,
    *,
    status: str | None,
    tenant_id: str | None,
    agent: str | None,
    older_than_s: float | None,
    limit: int,
) -> list[OpsJob]:
    """Oldest first: at 3 a.m. the job waiting longest is the one to look at."""
    now = utcnow()
    before = now - timedelta(seconds=older_than_s) if older_than_s else None
    rows = await OpsRepository(session).jobs(
        status=status, tenant_id=tenant_id, agent=agent, created_before=before, limit=limit
    )
    return [ops_job(j, now) for j in rows]


async def cancel_job(session: AsyncSession, platform: Platform, job_id: str) -> Job:
    job = await OpsRepository(session).job(job_id)
    if job is None:
        raise jobs.JobNotFound("No such job.")
    return await jobs.cancel_job(session, job.tenant_id, job_id, prices=platform.prices)


def _tenant_of(session_id: str) -> str | None:
    # Runtime session ids are `<tenant id>-<digest>` (invocations/sessions.py).
    head, sep, _ = session_id.partition("-")
    return head if sep and head.startswith("ten_") else None


def _when(value: Any) -> datetime | None:
    return datetime.fromtimestamp(value, UTC) if isinstance(value, int | float) else None


async def _local_sessions(platform: Platform) -> list[RuntimeSession]:
    if platform.settings.profile == "aws":
        raise SessionsNotListed(
            "AgentCore has no list call; see the AgentCore console metrics for the account."
        )
    async with httpx.AsyncClient(timeout=5.0) as client:
        answer = await client.get(f"{platform.settings.runtime_url}/_local/sessions")
    answer.raise_for_status()
    return [
        RuntimeSession(
            runtime_arn=s["runtimeArn"],
            session_id=s["sessionId"],
            tenant_id=_tenant_of(s["sessionId"]),
            version=str(s["version"]),
            pid=s.get("pid"),
            status=str(s.get("status")),
            inflight=int(s.get("inflight") or 0),
            started_at=_when(s.get("startedAt")),
            last_activity=_when(s.get("lastActivity")),
        )
        for s in answer.json()["sessions"]
    ]


async def list_sessions(platform: Platform, tenant_id: str | None) -> SessionList:
    every = await _local_sessions(platform)
    quota = platform.settings.runtime_session_quota
    counts: dict[str | None, int] = {}
    for s in every:
        counts[s.tenant_id] = counts.get(s.tenant_id, 0) + 1
    by_tenant = [
        TenantSessions(tenant_id=t, sessions=n, share_of_quota=round(n / quota, 4))
        for t, n in sorted(counts.items(), key=lambda kv: -kv[1])
    ]
    items = [s for s in every if tenant_id is None or s.tenant_id == tenant_id]
    return SessionList(
        items=items, quota=quota, used=round(len(every) / quota, 4), by_tenant=by_tenant
    )


async def stop_session(platform: Platform, session_id: str) -> RuntimeSession:
    found = [s for s in await _local_sessions(platform) if s.session_id == session_id]
    if not found:
        raise RuntimeSessionNotFound(f"No live runtime session '{session_id}'.")
    await platform.runtime.stop_session(RuntimeTarget(found[0].runtime_arn), session_id)
    return found[0]


def _states(counts: dict[str, tuple[int, datetime | None]], now: datetime) -> dict[str, QueueState]:
    return {k: QueueState(count=n, oldest_age_s=_age(now, at)) for k, (n, at) in counts.items()}


async def health(session: AsyncSession, platform: Platform) -> Health:
    now = utcnow()
    checks: dict[str, str] = {}
    try:
        await session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # the summary reports it rather than failing
        checks["database"] = f"error: {type(exc).__name__}"
    checks["runtime"] = "ok" if await platform.runtime_ready() else "unreachable"
    repo = OpsRepository(session)
    job_states = _states(await repo.job_counts(), now)
    hook_states = _states(await repo.delivery_counts(), now)
    live: int | None = None
    if platform.settings.profile != "aws" and checks["runtime"] == "ok":
        live = len(await _local_sessions(platform))
    quota = platform.settings.runtime_session_quota
    attention = [f"{name}: {state}" for name, state in checks.items() if state != "ok"]
    queued = job_states.get("queued")
    if queued and (queued.oldest_age_s or 0) > QUEUED_TOO_LONG_S:
        attention.append(
            f"jobs: {queued.count} queued, the oldest for {queued.oldest_age_s:.0f} s (RUNBOOK-013)"
        )
    dead = hook_states.get("dead")
    if dead and dead.count:
        attention.append(f"webhooks: {dead.count} dead letter(s) (RUNBOOK-005)")
    if live is not None and live / quota > SESSIONS_HIGH:
        attention.append(f"sessions: {live} of {quota} (RUNBOOK-002)")
    return Health(
        status="attention" if attention else "ok",
        checks=checks,
        jobs=job_states,
        webhooks=hook_states,
        sessions=live,
        session_quota=quota,
        attention=attention,
    )

"""Operator routes (`/v1/admin/...`): jobs across tenants, runtime sessions, health. Changes
are audited."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from agentry.identity.auth import Operator
from agentry.jobs.schemas import JobStatusName
from agentry.kit.clock import utcnow
from agentry.kit.openapi import problem_responses
from agentry.ops import service
from agentry.ops.schemas import Health, OpsJob, OpsJobList, RuntimeSession, SessionList, SessionStop
from agentry.platform import DbSession, PlatformDep

router = APIRouter(prefix="/v1/admin", tags=["admin"])
TenantFilter = Annotated[str | None, Query(max_length=40, pattern=r"^ten_[A-Za-z0-9]+$")]


@router.get(
    "/jobs",
    response_model=OpsJobList,
    responses=problem_responses(401, 403, 422),
    summary="Operator: jobs of every tenant, oldest first",
)
async def list_jobs(
    _: Operator,
    session: DbSession,
    status: JobStatusName | None = None,
    tenant_id: TenantFilter = None,
    agent: Annotated[str | None, Query(max_length=48)] = None,
    older_than_s: Annotated[float | None, Query(ge=0, le=31_536_000)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> OpsJobList:
    items = await service.list_jobs(
        session,
        status=status,
        tenant_id=tenant_id,
        agent=agent,
        older_than_s=older_than_s,
        limit=limit,
    )
    return OpsJobList(items=items)


@router.post(
    "/jobs/{job_id}/cancel",
    response_model=OpsJob,
    responses=problem_responses(401, 403, 404, 409),
    summary="Operator: cancel any tenant's queued or running job (audited)",
)
async def cancel_job(
    job_id: str, principal: Operator, session: DbSession, platform: PlatformDep
) -> OpsJob:
    job = await service.cancel_job(session, platform, job_id)
    await platform.audit.append(
        session,
        actor=principal.actor,
        action="job.cancel",
        actor_tenant_id=principal.tenant_id,
        target_tenant_id=job.tenant_id,
        details={"job_id": job.id, "agent": job.agent_name},
    )
    await session.commit()
    return service.ops_job(job, utcnow())


@router.get(
    "/sessions",
    response_model=SessionList,
    responses=problem_responses(400, 401, 403, 422),
    summary="Operator: live runtime sessions, per tenant, against the account quota",
)
async def list_sessions(
    _: Operator, platform: PlatformDep, tenant_id: TenantFilter = None
) -> SessionList:
    return await service.list_sessions(platform, tenant_id)


@router.post(
    "/sessions/stop",
    response_model=RuntimeSession,
    responses=problem_responses(400, 401, 403, 404, 422),
    summary="Operator: stop one runtime session now (audited)",
)
async def stop_session(
    body: SessionStop, principal: Operator, session: DbSession, platform: PlatformDep
) -> RuntimeSession:
    stopped = await service.stop_session(platform, body.session_id)
    await platform.audit.append(
        session,
        actor=principal.actor,
        action="runtime.session_stop",
        actor_tenant_id=principal.tenant_id,
        target_tenant_id=stopped.tenant_id,
        details={"session_id": stopped.session_id, "runtime_arn": stopped.runtime_arn},
    )
    await session.commit()
    return stopped


@router.get(
    "/health",
    response_model=Health,
    responses=problem_responses(401, 403),
    summary="Operator: readiness, queues, webhooks and sessions on one screen",
)
async def health(_: Operator, session: DbSession, platform: PlatformDep) -> Health:
    return await service.health(session, platform)

"""Tenant job endpoints: create (202), get, list, cancel, progress events (SSE)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse

from agentry.identity.auth import RequireScope
from agentry.identity.principal import Principal, Scope
from agentry.invocations.idempotency import check_key
from agentry.jobs import service
from agentry.jobs.repository import JobRepository
from agentry.jobs.schemas import JobCreate, JobCreated, JobOut, JobPage, JobStatusName
from agentry.kit.body import json_body, json_body_openapi
from agentry.kit.headers import IdempotencyKey
from agentry.kit.openapi import problem_responses
from agentry.models.job import TERMINAL
from agentry.platform import DbSession, PlatformDep
from agentry.quotas import QuotaService

router = APIRouter(tags=["jobs"])
JobsCaller = Annotated[Principal, Depends(RequireScope(Scope.jobs))]
AgentName = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_]{0,47}$", description="Agent name")]
SSE_HEARTBEAT_S = 15.0


@router.post(
    "/v1/agents/{agent}/jobs",
    status_code=202,
    response_model=JobCreated,
    responses=problem_responses(400, 401, 403, 404, 409, 413, 422, 429),
    summary="Start an async job; poll `Location` or receive a signed webhook",
    openapi_extra=json_body_openapi(JobCreate),
)
async def create_job(
    agent: AgentName,
    request: Request,
    principal: JobsCaller,
    session: DbSession,
    platform: PlatformDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    # The same admission check as invoke and stream: a job is agent work like any other.
    quotas: QuotaService = request.app.state.quotas
    await quotas.admit(principal, len(await request.body()))
    body = await json_body(request, JobCreate)
    created = await service.create_job(
        settings=platform.settings,
        routes=platform.routes,
        box=request.app.state.secret_box,
        principal=principal,
        agent_name=agent,
        body=body,
        idempotency_key=check_key(idempotency_key) if idempotency_key is not None else None,
        gate=getattr(request.app.state, "gate", None),
    )
    # Release this request's connection (on SQLite, the write lock) before the group commit
    # takes it; the job is committed before the answer, so `Location` finds it at once.
    await session.commit()
    created = await service.commit_created(platform.inserts, created, session)
    out = service.to_created(created)
    return JSONResponse(
        out.model_dump(mode="json"),
        status_code=202,
        headers={"Location": f"/v1/jobs/{created.job.id}"},
    )


@router.get(
    "/v1/jobs",
    response_model=JobPage,
    responses=problem_responses(400, 401, 403),
    summary="List your jobs, newest first",
)
async def list_jobs(
    principal: JobsCaller,
    session: DbSession,
    status: JobStatusName | None = None,
    agent: str | None = Query(None, max_length=48),
    cursor: str | None = Query(None, max_length=500),
    limit: int = Query(20, ge=1, le=100),
) -> JobPage:
    return await service.list_jobs(
        session, principal.tenant_id, status=status, agent=agent, cursor=cursor, limit=limit
    )


@router.get(
    "/v1/jobs/{job_id}",
    response_model=JobOut,
    responses=problem_responses(401, 403, 404),
    summary="A job's status, progress, result or error, and timings",
)
async def get_job(job_id: str, principal: JobsCaller, session: DbSession) -> JobOut:
    return service.to_out(await service.get_job(session, principal.tenant_id, job_id))


@router.post(
    "/v1/jobs/{job_id}/cancel",
    response_model=JobOut,
    responses=problem_responses(401, 403, 404, 409),
    summary="Cancel a queued or running job (409 once it has finished)",
)
async def cancel_job(
    job_id: str, principal: JobsCaller, session: DbSession, platform: PlatformDep
) -> JobOut:
    prices = platform.prices
    job = await service.cancel_job(session, principal.tenant_id, job_id, prices=prices)
    await session.commit()  # visible before the answer (see create_job)
    return service.to_out(job)


@router.get(
    "/v1/jobs/{job_id}/events",
    responses=problem_responses(401, 403, 404),
    summary="Progress and status events as SSE; resumable with Last-Event-ID",
)
async def job_events(
    job_id: str,
    request: Request,
    principal: JobsCaller,
    platform: PlatformDep,
    last_event_id: Annotated[str | None, Header()] = None,
) -> StreamingResponse:
    # Not DbSession: that transaction would stay open (SQLite: holding the write lock) for
    # the whole stream. Each poll below uses a short read session.
    async with platform.sessionmaker() as session:
        await service.get_job(session, principal.tenant_id, job_id)  # 404 before streaming
    after = int(last_event_id) if last_event_id and last_event_id.isdigit() else 0
    maker = platform.sessionmaker
    poll = platform.settings.job_poll_interval_s

    async def stream() -> AsyncIterator[bytes]:
        nonlocal after
        idle = 0.0
        while True:
            async with maker() as s:
                events = await JobRepository(s, principal.tenant_id).events_after(job_id, after)
            done = False
            for event in events:
                after = event.id
                data = json.dumps({**event.data, "at": event.at.isoformat()})
                yield f"id: {event.id}\nevent: {event.kind}\ndata: {data}\n\n".encode()
                if event.kind == "status" and event.data.get("status") in TERMINAL:
                    done = True
            if done or await request.is_disconnected():
                return
            idle = 0.0 if events else idle + poll
            if idle >= SSE_HEARTBEAT_S:
                idle = 0.0
                yield b": heartbeat\n\n"
            await asyncio.sleep(poll)

    return StreamingResponse(
        stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store"}
    )

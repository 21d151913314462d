"""Callbacks an async agent makes with its invocation token: progress, checkpoint, result, fail.

Each answer carries a fresh token, so a job of hours never needs a long-lived credential.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from agentry.agent_auth.claims import InvalidInvocationToken, InvocationClaims
from agentry.agent_auth.tokens import TokenSigner
from agentry.audit.service import Outcome
from agentry.jobs import service
from agentry.jobs.repository import JobRepository
from agentry.jobs.schemas import CallbackAck, CheckpointIn, FailIn, ProgressIn, ResultIn
from agentry.kit.clock import utcnow
from agentry.kit.openapi import problem_responses
from agentry.metering.service import Pricing
from agentry.models import Job
from agentry.models.job import TERMINAL, JobStatus
from agentry.platform import DbSession, get_platform

router = APIRouter(prefix="/agent/v1/jobs", tags=["agent callbacks"])


async def invocation_token(request: Request) -> InvocationClaims:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise InvalidInvocationToken("Send 'Authorization: Bearer <invocation token>'.")
    signer: TokenSigner = request.app.state.token_signer
    claims = signer.verify(token.strip())
    if "jobs" not in claims.scopes:
        raise InvalidInvocationToken("The token lacks the 'jobs' scope.")
    return claims


Claims = Annotated[InvocationClaims, Depends(invocation_token)]


def _prices(request: Request) -> Pricing:
    return get_platform(request).prices


ERRORS = problem_responses(401, 404, 409, 413, 422)


async def _current(
    request: Request, session: DbSession, claims: InvocationClaims, job: Job
) -> None:
    """Refuse (and audit) progress, checkpoints and failures from an attempt that was retried:
    its agent may still run, and must not overwrite what the current attempt stores."""
    if claims.attempt is None or claims.attempt == job.attempts:
        return
    details = {
        "job_id": job.id,
        "route": request.url.path.rsplit("/", 1)[-1],
        "attempt": claims.attempt,
        "current_attempt": job.attempts,
    }
    # Nothing of this request is kept; its connection goes back first (SQLite has one).
    await session.rollback()
    await get_platform(request).audit.append_now(
        actor=f"agent:{claims.agent}",
        action="job.stale_callback",
        outcome=Outcome.denied,
        actor_tenant_id=claims.tenant_id,
        target_tenant_id=claims.tenant_id,
        details=details,
    )
    raise service.StaleAttempt(
        f"This token is for attempt {details['attempt']}; the job is on attempt "
        f"{details['current_attempt']}."
    )


async def _job(session: DbSession, claims: InvocationClaims, job_id: str) -> Job:
    if claims.invocation_id != job_id:
        raise service.JobNotFound("No such job for this token.")
    job = await service.get_job(session, claims.tenant_id, job_id)
    if job.status in TERMINAL:
        raise service.JobFinished(f"Job '{job_id}' has already finished ({job.status}).")
    return job


async def _ack(request: Request, claims: InvocationClaims, session: DbSession) -> CallbackAck:
    await session.commit()  # stored before the agent hears "ok" (DbSession commits after)
    signer: TokenSigner = request.app.state.token_signer
    token = signer.sign(
        tenant_id=claims.tenant_id,
        tier=claims.tier,
        agent=claims.agent,
        version=claims.version,
        invocation_id=claims.invocation_id,
        session_id=claims.session_id,
        scopes=tuple(sorted(claims.scopes)),
        # A gateway-using agent's fresh token keeps its manifest's tool restriction.
        tools=sorted(claims.tools) if claims.tools is not None else None,
        attempt=claims.attempt,
    )
    return CallbackAck(token=token)


@router.post("/{job_id}/progress", response_model=CallbackAck, responses=ERRORS)
async def progress(
    job_id: str, body: ProgressIn, request: Request, claims: Claims, session: DbSession
) -> CallbackAck:
    job = await _job(session, claims, job_id)
    await _current(request, session, claims, job)
    now = utcnow()
    job.progress = body.model_dump(exclude_none=True)
    job.agent_seen_at = now
    await JobRepository(session, job.tenant_id).add_event(job.id, "progress", job.progress, now)
    return await _ack(request, claims, session)


@router.post("/{job_id}/checkpoint", response_model=CallbackAck, responses=ERRORS)
async def checkpoint(
    job_id: str, body: CheckpointIn, request: Request, claims: Claims, session: DbSession
) -> CallbackAck:
    job = await _job(session, claims, job_id)
    await _current(request, session, claims, job)
    now = utcnow()
    job.checkpoint = body.checkpoint
    job.agent_seen_at = now
    await JobRepository(session, job.tenant_id).add_event(job.id, "checkpoint", {}, now)
    return await _ack(request, claims, session)


@router.post("/{job_id}/result", response_model=CallbackAck, responses=ERRORS)
async def result(
    job_id: str, body: ResultIn, request: Request, claims: Claims, session: DbSession
) -> CallbackAck:
    # A result from an older attempt is still this job's answer (effects are idempotent).
    job = await _job(session, claims, job_id)
    limit = get_platform(request).settings.job_max_result_bytes
    size = service.result_size(body.result)
    if size > limit:
        message = service.too_large_message(size, limit)
        await service.finish_job(
            session,
            job,
            JobStatus.failed,
            prices=_prices(request),
            error_code=service.ResultTooLarge.code,
            error_message=message,
        )
        await session.commit()  # the failure is stored on the job before the agent hears 413
        raise service.ResultTooLarge(message)
    if None is await service.finish_job(
        session, job, JobStatus.succeeded, prices=_prices(request), result=body.result
    ):
        raise service.JobFinished(f"Job '{job_id}' has already finished.")
    return await _ack(request, claims, session)


@router.post("/{job_id}/fail", response_model=CallbackAck, responses=ERRORS)
async def fail(
    job_id: str, body: FailIn, request: Request, claims: Claims, session: DbSession
) -> CallbackAck:
    job = await _job(session, claims, job_id)
    await _current(request, session, claims, job)
    if None is await service.finish_job(
        session,
        job,
        JobStatus.failed,
        prices=_prices(request),
        error_code="agent_error",
        error_message=body.message,
    ):
        raise service.JobFinished(f"Job '{job_id}' has already finished.")
    return await _ack(request, claims, session)

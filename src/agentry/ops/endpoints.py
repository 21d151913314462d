"""Operator routes (`/v1/admin/...`): jobs across tenants, runtime sessions, health. Changes
are audited."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from agentry.agent_auth.tokens import TokenSigner
from agentry.api_keys.pepper import PepperRing
from agentry.identity.auth import Operator
from agentry.identity.principal import Principal
from agentry.jobs.schemas import JobStatusName
from agentry.kit.clock import utcnow
from agentry.kit.openapi import problem_responses
from agentry.ops import capacity, rotation, service
from agentry.ops.schemas import (
    Capacity,
    Health,
    KeyStatus,
    OpsJob,
    OpsJobList,
    Resealed,
    Retired,
    RuntimeSession,
    SessionList,
    SessionStop,
    SigningRetired,
    SigningRotated,
)
from agentry.platform import DbSession, Platform, PlatformDep
from agentry.webhooks.secretbox import SecretBox

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
    "/capacity",
    response_model=Capacity,
    responses=problem_responses(401, 403, 422),
    summary="Operator: measured peak sessions and invocation rates, and a recommended quota",
)
async def measure_capacity(
    _: Operator,
    session: DbSession,
    platform: PlatformDep,
    days: Annotated[int, Query(ge=1, le=90, description="The window: the last N days.")] = 7,
    top: Annotated[int, Query(ge=1, le=100, description="Tenants listed, by peak.")] = 10,
    growth: Annotated[float, Query(ge=1, le=10, description="Peak x this.")] = (
        capacity.GROWTH_FACTOR
    ),
    step: Annotated[int, Query(ge=1, le=10_000, description="Round up to this.")] = (
        capacity.QUOTA_STEP
    ),
) -> Capacity:
    settings = platform.settings
    return await capacity.measure(
        session,
        days=days,
        top=top,
        quota=settings.runtime_session_quota,
        idle_s=settings.runtime_idle_timeout_s,
        growth=growth,
        step=step,
    )


@router.get(
    "/health",
    response_model=Health,
    responses=problem_responses(401, 403),
    summary="Operator: readiness, queues, webhooks and sessions on one screen",
)
async def health(_: Operator, session: DbSession, platform: PlatformDep) -> Health:
    return await service.health(session, platform)


# Key and secret rotation (RUNBOOK-010). Every change is audited; no secret is ever answered.


def _keys(request: Request) -> tuple[TokenSigner, SecretBox, PepperRing]:
    state = request.app.state
    return state.token_signer, state.secret_box, state.peppers


async def _audited(
    platform: Platform, principal: Principal, action: str, details: dict[str, object]
) -> None:
    await platform.audit.append_now(
        actor=principal.actor,
        action=action,
        actor_tenant_id=principal.tenant_id,
        target_tenant_id=principal.tenant_id,
        details=details,
    )


@router.get(
    "/keys",
    response_model=KeyStatus,
    responses=problem_responses(401, 403),
    summary="Operator: signing key ids, box keys and peppers in use (never the secrets)",
)
async def key_status(request: Request, _: Operator) -> KeyStatus:
    return rotation.status(*_keys(request))


@router.post(
    "/keys/signing/rotate",
    response_model=SigningRotated,
    responses=problem_responses(401, 403),
    summary="Operator: a new invocation-token signing key; the old one verifies until retired",
)
async def rotate_signing(
    request: Request, principal: Operator, platform: PlatformDep
) -> SigningRotated:
    signer = _keys(request)[0]
    old, new = rotation.rotate_signing(signer.key_dir)
    await _audited(platform, principal, "key.signing_rotate", {"old_kid": old, "new_kid": new})
    return SigningRotated(old_kid=old, new_kid=new, published_kids=list(signer.public_keys()))


@router.post(
    "/keys/signing/retire",
    response_model=SigningRetired,
    responses=problem_responses(401, 403),
    summary="Operator: end the overlap; old signing keys are unpublished and refused",
)
async def retire_signing(
    request: Request, principal: Operator, platform: PlatformDep
) -> SigningRetired:
    signer = _keys(request)[0]
    gone = rotation.retire_signing(signer.key_dir)
    await _audited(platform, principal, "key.signing_retire", {"retired_kids": gone})
    return SigningRetired(retired_kids=gone, published_kids=list(signer.public_keys()))


@router.post(
    "/keys/webhook-box/rotate",
    response_model=Resealed,
    responses=problem_responses(401, 403, 409),
    summary="Operator: a new secret box key, and every stored secret re-encrypted under it",
)
async def rotate_box(
    request: Request,
    principal: Operator,
    session: DbSession,
    platform: PlatformDep,
    new_key: Annotated[bool, Query(description="false: only re-encrypt (AWS)")] = True,
) -> Resealed:
    box = _keys(request)[1]
    done = await rotation.reseal(session, box, new_key=new_key)
    await platform.audit.append(
        session,
        actor=principal.actor,
        action="key.webhook_box_rotate",
        actor_tenant_id=principal.tenant_id,
        target_tenant_id=principal.tenant_id,
        details={"new_key": new_key, "resealed": done.resealed},
    )
    await session.commit()
    return done


@router.post(
    "/keys/webhook-box/retire",
    response_model=Retired,
    responses=problem_responses(401, 403, 409),
    summary="Operator: drop old secret box keys (refused while a stored secret needs one)",
)
async def retire_box(
    request: Request, principal: Operator, session: DbSession, platform: PlatformDep
) -> Retired:
    box = _keys(request)[1]
    dropped = await rotation.retire_box_keys(session, box)
    await platform.audit.append(
        session,
        actor=principal.actor,
        action="key.webhook_box_retire",
        actor_tenant_id=principal.tenant_id,
        target_tenant_id=principal.tenant_id,
        details={"dropped": dropped},
    )
    await session.commit()
    return Retired(dropped=dropped, remaining=box.key_count)


@router.post(
    "/keys/pepper/rotate",
    response_model=Retired,
    responses=problem_responses(401, 403, 409),
    summary="Operator: a new API key pepper; keys hashed with the old one re-hash on use",
)
async def rotate_pepper(request: Request, principal: Operator, platform: PlatformDep) -> Retired:
    peppers = _keys(request)[2]
    count = rotation.rotate_pepper(peppers)
    platform.authenticator.forget()
    await _audited(platform, principal, "key.pepper_rotate", {"peppers": count})
    return Retired(dropped=0, remaining=count)


@router.post(
    "/keys/pepper/retire",
    response_model=Retired,
    responses=problem_responses(401, 403, 409),
    summary="Operator: end the overlap; keys not used since the rotation are refused",
)
async def retire_pepper(request: Request, principal: Operator, platform: PlatformDep) -> Retired:
    peppers = _keys(request)[2]
    dropped = rotation.retire_peppers(peppers)
    platform.authenticator.forget()
    await _audited(platform, principal, "key.pepper_retire", {"dropped": dropped})
    return Retired(dropped=dropped, remaining=len(peppers.all()))

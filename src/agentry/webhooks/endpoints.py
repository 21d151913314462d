from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from agentry.audit.service import Outcome
from agentry.identity.auth import RequireScope
from agentry.identity.principal import Principal, Scope
from agentry.kit.clock import utcnow
from agentry.kit.errors import ValidationFailed
from agentry.kit.openapi import problem_responses
from agentry.models import WebhookDelivery, WebhookEndpoint
from agentry.platform import DbSession, Platform, PlatformDep
from agentry.webhooks import service
from agentry.webhooks.schemas import (
    DeadLetter,
    DeadLetterList,
    DeliveryList,
    DeliveryOut,
    Enable,
    Enabled,
    EndpointCreate,
    EndpointCreated,
    EndpointList,
    EndpointOut,
    EndpointUpdate,
    OperatorReplay,
    Replay,
    Replayed,
    SecretRotate,
    SecretRotated,
)

router = APIRouter(tags=["webhooks"])
WebhookAdmin = Annotated[Principal, Depends(RequireScope(Scope.webhooks_admin))]
Operator = Annotated[Principal, Depends(RequireScope(Scope.platform_admin))]


def _out(e: WebhookEndpoint) -> EndpointOut:
    return EndpointOut(
        id=e.id,
        url=e.url,
        description=e.description,
        status=e.status,
        disabled_reason=e.disabled_reason,
        created_at=e.created_at,
        event_types=list(e.event_types or []),
        rate_limit_per_s=e.rate_limit_per_s,
        failing_since=e.failing_since,
        disabled_at=e.disabled_at,
        previous_secret_expires_at=e.previous_secret_expires_at,
    )


def _delivery(d: WebhookDelivery) -> DeliveryOut:
    return DeliveryOut(
        id=d.id,
        event_type=d.event_type,
        status=d.status,
        attempts=d.attempts,
        last_status_code=d.last_status_code,
        last_error=d.last_error,
        last_latency_ms=d.last_latency_ms,
        next_attempt_at=d.next_attempt_at if d.status == "pending" else None,
        created_at=d.created_at,
        delivered_at=d.delivered_at,
    )


async def _audit(
    platform: Platform, session: AsyncSession, principal: Principal, action: str, **details: Any
) -> None:
    await platform.audit.append(
        session,
        actor=principal.actor,
        action=action,
        actor_tenant_id=principal.tenant_id,
        target_tenant_id=principal.tenant_id,
        details=details,
    )


def _since(value: datetime | None) -> datetime:
    since = value or utcnow() - timedelta(days=7)
    if since.tzinfo is None:
        raise ValidationFailed("since needs a time zone, e.g. 2026-12-01T00:00:00Z")
    return since


def _dead(d: WebhookDelivery) -> DeadLetter:
    return DeadLetter(
        id=d.id,
        tenant_id=d.tenant_id,
        endpoint_id=d.endpoint_id,
        job_id=d.job_id,
        url=d.url,
        event_type=d.event_type,
        payload=d.payload,
        attempts=d.attempts,
        last_status_code=d.last_status_code,
        last_error=d.last_error,
        created_at=d.created_at,
    )


@router.post(
    "/v1/webhooks",
    status_code=201,
    response_model=EndpointCreated,
    responses=problem_responses(401, 403, 422),
    summary="Register a webhook endpoint (the secret is shown once)",
)
async def create_endpoint(
    body: EndpointCreate,
    request: Request,
    principal: WebhookAdmin,
    session: DbSession,
    platform: PlatformDep,
) -> EndpointCreated:
    endpoint, secret = await service.create_endpoint(
        session,
        platform.settings,
        request.app.state.secret_box,
        principal,
        body.url,
        body.description,
        body.event_types,
        body.rate_limit_per_s,
    )
    await platform.audit.append(
        session,
        actor=principal.key_id or principal.tenant_id,
        action="webhook_endpoint.create",
        outcome=Outcome.success,
        actor_tenant_id=principal.tenant_id,
        target_tenant_id=principal.tenant_id,
        details={"endpoint_id": endpoint.id},
    )
    await session.commit()  # visible before the answer (DbSession commits after sending)
    return EndpointCreated(**_out(endpoint).model_dump(), secret=secret)


@router.get("/v1/webhooks", response_model=EndpointList, responses=problem_responses(401, 403))
async def list_endpoints(principal: WebhookAdmin, session: DbSession) -> EndpointList:
    return EndpointList(items=[_out(e) for e in await service.list_endpoints(session, principal)])


@router.delete(
    "/v1/webhooks/{endpoint_id}", status_code=204, responses=problem_responses(401, 403, 404)
)
async def delete_endpoint(
    endpoint_id: str, principal: WebhookAdmin, session: DbSession
) -> Response:
    await service.delete_endpoint(session, principal, endpoint_id)
    await session.commit()
    return Response(status_code=204)


_ERR = problem_responses(401, 403, 404, 409, 422)


@router.get("/v1/webhooks/{endpoint_id}", response_model=EndpointOut, responses=_ERR)
async def get_endpoint(
    endpoint_id: str, principal: WebhookAdmin, session: DbSession
) -> EndpointOut:
    return _out(await service.get_endpoint(session, principal, endpoint_id))


@router.patch(
    "/v1/webhooks/{endpoint_id}",
    response_model=EndpointOut,
    responses=_ERR,
    summary="Change an endpoint's event-type filter, rate limit or description",
)
async def update_endpoint(
    endpoint_id: str,
    body: EndpointUpdate,
    principal: WebhookAdmin,
    session: DbSession,
    platform: PlatformDep,
) -> EndpointOut:
    changes = body.model_dump(exclude_unset=True)
    endpoint = await service.update_endpoint(session, principal, endpoint_id, changes)
    await _audit(platform, session, principal, "webhook_endpoint.update", endpoint_id=endpoint_id)
    await session.commit()
    return _out(endpoint)


@router.get(
    "/v1/webhooks/{endpoint_id}/deliveries",
    response_model=DeliveryList,
    responses=_ERR,
    summary="The endpoint's delivery log: attempts, status, latency, next retry",
)
async def endpoint_deliveries(
    endpoint_id: str,
    principal: WebhookAdmin,
    session: DbSession,
    status: Annotated[str | None, Query(pattern="^(pending|delivered|dead|gone|held)$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> DeliveryList:
    rows = await service.deliveries(session, principal, endpoint_id, status, limit)
    return DeliveryList(items=[_delivery(d) for d in rows])


@router.post(
    "/v1/webhooks/{endpoint_id}/test",
    status_code=202,
    response_model=DeliveryOut,
    responses=_ERR,
    summary="Send a signed `webhook.test` event to the endpoint",
)
async def test_endpoint(
    endpoint_id: str, principal: WebhookAdmin, session: DbSession
) -> DeliveryOut:
    row = await service.send_test(session, principal, endpoint_id)
    await session.commit()
    return _delivery(row)


@router.post(
    "/v1/webhooks/{endpoint_id}/replay",
    response_model=Replayed,
    responses=_ERR,
    summary="Send the endpoint's failed deliveries since a time again (same webhook-ids)",
)
async def replay_endpoint(
    endpoint_id: str,
    principal: WebhookAdmin,
    session: DbSession,
    platform: PlatformDep,
    body: Replay | None = None,
) -> Replayed:
    since = _since(body.since if body else None)
    count = await service.replay_endpoint(session, principal, endpoint_id, since)
    await _audit(
        platform,
        session,
        principal,
        "webhook_endpoint.replay",
        endpoint_id=endpoint_id,
        count=count,
    )
    await session.commit()
    return Replayed(replayed=count)


@router.post(
    "/v1/webhooks/{endpoint_id}/rotate-secret",
    response_model=SecretRotated,
    responses=_ERR,
    summary="A new signing secret; the old one signs beside it during the overlap",
)
async def rotate_secret(
    endpoint_id: str,
    request: Request,
    principal: WebhookAdmin,
    session: DbSession,
    platform: PlatformDep,
    body: SecretRotate | None = None,
) -> SecretRotated:
    overlap = body.overlap_s if body else SecretRotate().overlap_s
    endpoint, secret = await service.rotate_secret(
        session, request.app.state.secret_box, principal, endpoint_id, overlap
    )
    await _audit(
        platform, session, principal, "webhook_endpoint.rotate_secret", endpoint_id=endpoint_id
    )
    await session.commit()
    return SecretRotated(**_out(endpoint).model_dump(), secret=secret)


@router.post(
    "/v1/webhooks/{endpoint_id}/enable",
    response_model=Enabled,
    responses=_ERR,
    summary="Re-enable a disabled endpoint, optionally sending what it missed",
)
async def enable_endpoint(
    endpoint_id: str,
    principal: WebhookAdmin,
    session: DbSession,
    platform: PlatformDep,
    body: Enable | None = None,
) -> Enabled:
    replay_missed = bool(body and body.replay_missed)
    endpoint, replayed = await service.enable_endpoint(
        session, principal, endpoint_id, replay_missed
    )
    await _audit(
        platform,
        session,
        principal,
        "webhook_endpoint.enable",
        endpoint_id=endpoint_id,
        replayed=replayed,
    )
    await session.commit()
    return Enabled(**_out(endpoint).model_dump(), replayed=replayed)


@router.post(
    "/v1/admin/webhooks/replay",
    response_model=Replayed,
    responses=problem_responses(401, 403, 422),
    summary="Operator: send failed deliveries since a time again (one tenant or all)",
)
async def replay_failed(
    principal: Operator,
    session: DbSession,
    platform: PlatformDep,
    body: OperatorReplay | None = None,
) -> Replayed:
    since = _since(body.since if body else None)
    tenant_id = body.tenant_id if body else None
    count = await service.replay_failed(session, since, tenant_id)
    await platform.audit.append(
        session,
        actor=principal.actor,
        action="webhook.replay_failed",
        actor_tenant_id=principal.tenant_id,
        target_tenant_id=tenant_id,
        details={"since": since.isoformat(), "count": count},
    )
    await session.commit()
    return Replayed(replayed=count)


@router.get(
    "/v1/admin/webhooks/dead-letters",
    response_model=DeadLetterList,
    responses=problem_responses(401, 403),
    summary="Operator: deliveries that failed every attempt",
)
async def dead_letters(
    _: Operator, session: DbSession, limit: int = Query(100, ge=1, le=500)
) -> DeadLetterList:
    return DeadLetterList(items=[_dead(d) for d in await service.list_dead_letters(session, limit)])


@router.post(
    "/v1/admin/webhooks/dead-letters/{delivery_id}/replay",
    response_model=DeadLetter,
    responses=problem_responses(401, 403, 404, 409),
    summary="Operator: send a dead-lettered delivery again (same webhook-id)",
)
async def replay(
    delivery_id: str, principal: Operator, session: DbSession, platform: PlatformDep
) -> DeadLetter:
    delivery = await service.replay_dead_letter(session, delivery_id)
    await platform.audit.append(
        session,
        actor=principal.actor,
        action="webhook.replay_dead_letter",
        actor_tenant_id=principal.tenant_id,
        target_tenant_id=delivery.tenant_id,
        details={"delivery_id": delivery.id, "job_id": delivery.job_id},
    )
    await session.commit()
    return _dead(delivery)

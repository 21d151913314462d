from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from agentry.audit.service import Outcome
from agentry.identity.auth import RequireScope
from agentry.identity.principal import Principal, Scope
from agentry.kit.openapi import problem_responses
from agentry.models import WebhookDelivery, WebhookEndpoint
from agentry.platform import DbSession, PlatformDep
from agentry.webhooks import service
from agentry.webhooks.schemas import (
    DeadLetter,
    DeadLetterList,
    EndpointCreate,
    EndpointCreated,
    EndpointList,
    EndpointOut,
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
    )


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
    return Response(status_code=204)


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
async def replay(delivery_id: str, _: Operator, session: DbSession) -> DeadLetter:
    return _dead(await service.replay_dead_letter(session, delivery_id))

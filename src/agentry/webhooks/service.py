"""Webhook logic: endpoints, enqueueing job events into the outbox, dead-letter replay."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from agentry.config import Settings
from agentry.identity.principal import Principal
from agentry.kit.clock import utcnow
from agentry.kit.errors import Conflict, NotFound
from agentry.kit.ids import new_id
from agentry.models import Job, WebhookDelivery, WebhookEndpoint
from agentry.webhooks.repository import DeliveryQueueRepository, WebhookEndpointRepository
from agentry.webhooks.secretbox import SecretBox, new_secret
from agentry.webhooks.ssrf import Resolver, check_url, system_resolver

JOB_EVENTS = {
    "succeeded": "job.succeeded",
    "failed": "job.failed",
    "cancelled": "job.cancelled",
    "timed_out": "job.timed_out",
}


class WebhookEndpointNotFound(NotFound):
    code = "webhook_endpoint_not_found"
    title = "No such webhook endpoint"


class DeliveryNotFound(NotFound):
    code = "webhook_delivery_not_found"
    title = "No such dead-lettered delivery"


class DeliveryNotDead(Conflict):
    code = "webhook_delivery_not_dead"
    title = "Only dead-lettered deliveries can be replayed"


async def check_webhook_url(
    settings: Settings, url: str, resolver: Resolver = system_resolver
) -> None:
    await check_url(
        url,
        allow_private=settings.webhook_allow_private,
        https_only=settings.profile != "local",
        resolver=resolver,
    )


async def create_endpoint(
    session: AsyncSession,
    settings: Settings,
    box: SecretBox,
    principal: Principal,
    url: str,
    description: str,
) -> tuple[WebhookEndpoint, str]:
    await check_webhook_url(settings, url)
    secret = new_secret()
    endpoint = WebhookEndpoint(
        id=new_id("whe"),
        tenant_id=principal.tenant_id,
        url=url,
        description=description,
        secret_enc=box.seal(secret),
        status="active",
        created_at=utcnow(),
    )
    await WebhookEndpointRepository(session, principal.tenant_id).add(endpoint)
    return endpoint, secret


async def list_endpoints(session: AsyncSession, principal: Principal) -> Sequence[WebhookEndpoint]:
    return await WebhookEndpointRepository(session, principal.tenant_id).list()


async def delete_endpoint(session: AsyncSession, principal: Principal, endpoint_id: str) -> None:
    repo = WebhookEndpointRepository(session, principal.tenant_id)
    endpoint = await repo.get(endpoint_id)
    if endpoint is None:
        raise WebhookEndpointNotFound("No such webhook endpoint.")
    await repo.delete(endpoint)


def job_event_payload(job: Job, event_type: str) -> dict[str, Any]:
    """Ids and status only: the result itself is fetched from `GET /v1/jobs/{id}`."""
    return {
        "type": event_type,
        "timestamp": utcnow().isoformat(),
        "data": {
            "job_id": job.id,
            "agent": job.agent_name,
            "version": job.version_number,
            "status": job.status,
        },
    }


async def enqueue_job_event(session: AsyncSession, job: Job) -> list[WebhookDelivery]:
    """Outbox rows for a job's terminal event, in the caller's transaction."""
    event_type = JOB_EVENTS[job.status]
    payload = job_event_payload(job, event_type)
    now = utcnow()
    targets: list[tuple[str | None, str, str]] = []
    if job.webhook_url and job.webhook_secret:
        targets.append((None, job.webhook_url, job.webhook_secret))
    for endpoint in await WebhookEndpointRepository(session, job.tenant_id).active():
        targets.append((endpoint.id, endpoint.url, endpoint.secret_enc))
    rows = [
        WebhookDelivery(
            id=new_id("msg"),
            tenant_id=job.tenant_id,
            endpoint_id=endpoint_id,
            job_id=job.id,
            url=url,
            secret_enc=secret_enc,
            event_type=event_type,
            payload=payload,
            status="pending",
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        for endpoint_id, url, secret_enc in targets
    ]
    session.add_all(rows)
    return rows


async def enqueue_tenant_event(
    session: AsyncSession, tenant_id: str, event_type: str, data: dict[str, Any]
) -> list[WebhookDelivery]:
    """Outbox rows for a tenant-wide event (e.g. `budget.warning`) to every active endpoint."""
    now = utcnow()
    payload = {"type": event_type, "timestamp": now.isoformat(), "data": data}
    rows = [
        WebhookDelivery(
            id=new_id("msg"),
            tenant_id=tenant_id,
            endpoint_id=endpoint.id,
            job_id=None,
            url=endpoint.url,
            secret_enc=endpoint.secret_enc,
            event_type=event_type,
            payload=payload,
            status="pending",
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        for endpoint in await WebhookEndpointRepository(session, tenant_id).active()
    ]
    session.add_all(rows)
    return rows


async def list_dead_letters(session: AsyncSession, limit: int = 100) -> Sequence[WebhookDelivery]:
    return await DeliveryQueueRepository(session).list_dead(limit)


async def replay_dead_letter(session: AsyncSession, delivery_id: str) -> WebhookDelivery:
    delivery = await DeliveryQueueRepository(session).get(delivery_id)
    if delivery is None:
        raise DeliveryNotFound("No such delivery.")
    if delivery.status != "dead":
        raise DeliveryNotDead(f"Delivery '{delivery_id}' is {delivery.status}.")
    delivery.status = "pending"
    delivery.attempts = 0
    delivery.next_attempt_at = utcnow()
    delivery.last_error = None
    await session.flush()
    return delivery

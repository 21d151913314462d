"""Webhook logic: endpoints, enqueueing job events into the outbox, dead-letter replay."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from agentry.config import Settings
from agentry.identity.principal import Principal
from agentry.kit.clock import utcnow
from agentry.kit.errors import Conflict, NotFound, ValidationFailed
from agentry.kit.ids import new_id
from agentry.models import Job, WebhookDelivery, WebhookEndpoint
from agentry.webhooks.repository import (
    DeliveryQueueRepository,
    DeliveryRepository,
    WebhookEndpointRepository,
)
from agentry.webhooks.secretbox import SecretBox, new_secret
from agentry.webhooks.ssrf import Resolver, check_url, system_resolver

JOB_EVENTS = {
    "succeeded": "job.succeeded",
    "failed": "job.failed",
    "cancelled": "job.cancelled",
    "timed_out": "job.timed_out",
}
ENDPOINT_DISABLED = "webhook.endpoint_disabled"
TEST_EVENT = "webhook.test"
EVENT_TYPES = (
    *JOB_EVENTS.values(),
    "budget.warning",
    "budget.exhausted",
    ENDPOINT_DISABLED,
    TEST_EVENT,
)


class UnknownEventType(ValidationFailed):
    code = "unknown_event_type"
    title = "No such webhook event type"


class EndpointNotDisabled(Conflict):
    code = "webhook_endpoint_active"
    title = "The endpoint is active already"


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
    event_types: Sequence[str] = (),
    rate_limit_per_s: int | None = None,
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
        event_types=check_event_types(event_types),
        rate_limit_per_s=rate_limit_per_s,
    )
    await WebhookEndpointRepository(session, principal.tenant_id).add(endpoint)
    return endpoint, secret


def check_event_types(types: Sequence[str]) -> list[str]:
    unknown = sorted(set(types) - set(EVENT_TYPES))
    if unknown:
        raise UnknownEventType(
            f"Unknown event type {', '.join(unknown)}; known: {', '.join(EVENT_TYPES)}."
        )
    return sorted(set(types))


async def get_endpoint(
    session: AsyncSession, principal: Principal, endpoint_id: str
) -> WebhookEndpoint:
    endpoint = await WebhookEndpointRepository(session, principal.tenant_id).get(endpoint_id)
    if endpoint is None:
        raise WebhookEndpointNotFound("No such webhook endpoint.")
    return endpoint


async def update_endpoint(
    session: AsyncSession, principal: Principal, endpoint_id: str, changes: dict[str, Any]
) -> WebhookEndpoint:
    endpoint = await get_endpoint(session, principal, endpoint_id)
    if "event_types" in changes:
        endpoint.event_types = check_event_types(changes["event_types"] or [])
    if "rate_limit_per_s" in changes:
        endpoint.rate_limit_per_s = changes["rate_limit_per_s"]
    if "description" in changes:
        endpoint.description = changes["description"]
    await session.flush()
    return endpoint


async def deliveries(
    session: AsyncSession, principal: Principal, endpoint_id: str, status: str | None, limit: int
) -> Sequence[WebhookDelivery]:
    await get_endpoint(session, principal, endpoint_id)
    return await DeliveryRepository(session, principal.tenant_id).for_endpoint(
        endpoint_id, status, limit
    )


async def send_test(
    session: AsyncSession, principal: Principal, endpoint_id: str
) -> WebhookDelivery:
    """A `webhook.test` event to this endpoint only, whatever its event-type filter."""
    endpoint = await get_endpoint(session, principal, endpoint_id)
    if endpoint.status != "active":
        raise EndpointNotDisabled("The endpoint is disabled: enable it first.")
    payload = {
        "type": TEST_EVENT,
        "timestamp": utcnow().isoformat(),
        "data": {"endpoint_id": endpoint.id, "tenant_id": endpoint.tenant_id},
    }
    row = _row(
        endpoint.tenant_id,
        TEST_EVENT,
        payload,
        url=endpoint.url,
        secret_enc=endpoint.secret_enc,
        endpoint_id=endpoint.id,
    )
    session.add(row)
    await session.flush()
    return row


async def replay_endpoint(
    session: AsyncSession, principal: Principal, endpoint_id: str, since: datetime
) -> int:
    """The endpoint's failed (dead) deliveries since `since` go out again, same ids."""
    await get_endpoint(session, principal, endpoint_id)
    return await DeliveryRepository(session, principal.tenant_id).requeue(
        endpoint_id, ("dead",), since, utcnow()
    )


async def rotate_secret(
    session: AsyncSession, box: SecretBox, principal: Principal, endpoint_id: str, overlap_s: int
) -> tuple[WebhookEndpoint, str]:
    """A new secret; the old one keeps signing beside it for `overlap_s` (both signatures are
    sent, as Standard Webhooks allows), so receivers switch without losing a delivery."""
    endpoint = await get_endpoint(session, principal, endpoint_id)
    secret = new_secret()
    endpoint.previous_secret_enc = endpoint.secret_enc if overlap_s > 0 else None
    endpoint.previous_secret_expires_at = (
        utcnow() + timedelta(seconds=overlap_s) if overlap_s > 0 else None
    )
    endpoint.secret_enc = box.seal(secret)
    await session.flush()
    return endpoint, secret


async def enable_endpoint(
    session: AsyncSession, principal: Principal, endpoint_id: str, replay_missed: bool
) -> tuple[WebhookEndpoint, int]:
    endpoint = await get_endpoint(session, principal, endpoint_id)
    if endpoint.status == "active":
        raise EndpointNotDisabled("The endpoint is active already.")
    since = endpoint.failing_since or endpoint.disabled_at or endpoint.created_at
    endpoint.status = "active"
    endpoint.disabled_reason = None
    endpoint.failing_since = None
    endpoint.disabled_at = None
    repo = DeliveryRepository(session, principal.tenant_id)
    replayed = 0
    if replay_missed:
        # Everything held while it was disabled, and what failed on the way there.
        now = utcnow()
        replayed = await repo.requeue(endpoint.id, ("held",), endpoint.created_at, now)
        replayed += await repo.requeue(endpoint.id, ("dead", "gone"), since, now)
    await session.flush()
    return endpoint, replayed


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


def wants(endpoint: WebhookEndpoint, event_type: str) -> bool:
    return not endpoint.event_types or event_type in endpoint.event_types


def _row(
    tenant_id: str,
    event_type: str,
    payload: dict[str, Any],
    *,
    url: str,
    secret_enc: str,
    endpoint_id: str | None = None,
    job_id: str | None = None,
    status: str = "pending",
) -> WebhookDelivery:
    now = utcnow()
    return WebhookDelivery(
        id=new_id("msg"),
        tenant_id=tenant_id,
        endpoint_id=endpoint_id,
        job_id=job_id,
        url=url,
        secret_enc=secret_enc,
        event_type=event_type,
        payload=payload,
        status=status,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )


async def _to_endpoints(
    session: AsyncSession,
    tenant_id: str,
    event_type: str,
    payload: dict[str, Any],
    job_id: str | None = None,
) -> list[WebhookDelivery]:
    """One row per endpoint that wants the event type. A disabled endpoint's rows are held:
    re-enabling it with `replay_missed` sends them."""
    return [
        _row(
            tenant_id,
            event_type,
            payload,
            url=e.url,
            secret_enc=e.secret_enc,
            endpoint_id=e.id,
            job_id=job_id,
            status="pending" if e.status == "active" else "held",
        )
        for e in await WebhookEndpointRepository(session, tenant_id).list()
        if wants(e, event_type)
    ]


async def job_event_deliveries(
    session: AsyncSession, jobs: Sequence[Job], *, hold_until: datetime | None = None
) -> dict[str, list[WebhookDelivery]]:
    """Outbox rows for jobs' terminal events, by job id, for the caller to insert in its
    transaction; each tenant's endpoints are read once.

    With `hold_until`, a job's own `webhook_url` row is held until then: the caller hands it to
    its sender in memory after the commit (`WebhookSender.send`), and should that process die
    first, any sender finds it due once the hold ends (as if it had claimed it)."""
    endpoints = {
        tenant_id: await WebhookEndpointRepository(session, tenant_id).list()
        for tenant_id in sorted({j.tenant_id for j in jobs})
    }
    out: dict[str, list[WebhookDelivery]] = {}
    for job in jobs:
        event_type = JOB_EVENTS[job.status]
        payload = job_event_payload(job, event_type)
        rows = [
            _row(
                job.tenant_id,
                event_type,
                payload,
                url=e.url,
                secret_enc=e.secret_enc,
                endpoint_id=e.id,
                job_id=job.id,
                status="pending" if e.status == "active" else "held",
            )
            for e in endpoints[job.tenant_id]
            if wants(e, event_type)
        ]
        if job.webhook_url and job.webhook_secret:
            own = _row(
                job.tenant_id,
                event_type,
                payload,
                url=job.webhook_url,
                secret_enc=job.webhook_secret,
                job_id=job.id,
            )
            if hold_until is not None:
                own.next_attempt_at = hold_until
            rows.append(own)
        out[job.id] = rows
    return out


async def enqueue_tenant_event(
    session: AsyncSession, tenant_id: str, event_type: str, data: dict[str, Any]
) -> list[WebhookDelivery]:
    """Outbox rows for a tenant-wide event (e.g. `budget.warning`) to its endpoints."""
    payload = {"type": event_type, "timestamp": utcnow().isoformat(), "data": data}
    rows = await _to_endpoints(session, tenant_id, event_type, payload)
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


async def replay_failed(session: AsyncSession, since: datetime, tenant_id: str | None) -> int:
    return await DeliveryQueueRepository(session).requeue_failed(since, tenant_id, utcnow())

"""All SQL for webhooks. Endpoints are tenant-scoped; the delivery queue is platform-wide
(the sender and the operator's dead-letter list serve every tenant)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update

from agentry.kit.repository.base import RepositoryBase, TenantScopedRepository
from agentry.models import WebhookDelivery, WebhookEndpoint


class WebhookEndpointRepository(TenantScopedRepository[WebhookEndpoint]):
    model = WebhookEndpoint

    async def list(self) -> Sequence[WebhookEndpoint]:
        result = await self.session.execute(self.scoped().order_by(WebhookEndpoint.created_at))
        return result.scalars().all()

    async def active(self) -> Sequence[WebhookEndpoint]:
        result = await self.session.execute(self.scoped().where(WebhookEndpoint.status == "active"))
        return result.scalars().all()

    async def delete(self, endpoint: WebhookEndpoint) -> None:
        await self.session.delete(endpoint)
        await self.session.flush()


class DeliveryQueueRepository(RepositoryBase[WebhookDelivery]):
    model = WebhookDelivery

    async def claim_due(
        self, now: datetime, limit: int, hold_until: datetime
    ) -> Sequence[WebhookDelivery]:
        stmt = (
            select(WebhookDelivery)
            .where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now)
            .order_by(WebhookDelivery.next_attempt_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        rows = (await self.session.execute(stmt)).scalars().all()
        for row in rows:
            # Held while in flight; if this sender dies, the row is due again after hold_until.
            row.next_attempt_at = hold_until
        await self.session.flush()
        return rows

    async def list_dead(self, limit: int) -> Sequence[WebhookDelivery]:
        stmt = (
            select(WebhookDelivery)
            .where(WebhookDelivery.status == "dead")
            .order_by(WebhookDelivery.created_at)
            .limit(limit)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def disable_endpoint(self, endpoint_id: str, reason: str) -> None:
        await self.session.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id == endpoint_id)
            .values(status="disabled", disabled_reason=reason)
        )

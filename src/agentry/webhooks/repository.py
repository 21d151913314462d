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


class DeliveryRepository(TenantScopedRepository[WebhookDelivery]):
    """A tenant's deliveries: the per-endpoint log and the tenant's own replays."""

    model = WebhookDelivery

    async def for_endpoint(
        self, endpoint_id: str, status: str | None, limit: int
    ) -> Sequence[WebhookDelivery]:
        stmt = self.scoped().where(WebhookDelivery.endpoint_id == endpoint_id)
        if status is not None:
            stmt = stmt.where(WebhookDelivery.status == status)
        stmt = stmt.order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id).limit(limit)
        return (await self.session.execute(stmt)).scalars().all()

    async def requeue(
        self, endpoint_id: str, statuses: Sequence[str], since: datetime, now: datetime
    ) -> int:
        """Send these deliveries of the endpoint again (same webhook-id, attempts from 0)."""
        result = await self.session.execute(
            update(WebhookDelivery)
            .where(
                WebhookDelivery.tenant_id == self.tenant_id,
                WebhookDelivery.endpoint_id == endpoint_id,
                WebhookDelivery.status.in_(statuses),
                WebhookDelivery.created_at >= since,
            )
            .values(status="pending", attempts=0, next_attempt_at=now, last_error=None)
        )
        return int(getattr(result, "rowcount", 0) or 0)


class DeliveryQueueRepository(RepositoryBase[WebhookDelivery]):
    model = WebhookDelivery

    async def claim_due(
        self, now: datetime, limit: int, hold_until: datetime
    ) -> Sequence[WebhookDelivery]:
        stmt = (
            select(WebhookDelivery)  # scoping: exempt (sender: delivery queue across tenants)
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
            select(WebhookDelivery)  # scoping: exempt (sender: delivery queue across tenants)
            .where(WebhookDelivery.status == "dead")
            .order_by(WebhookDelivery.created_at)
            .limit(limit)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def disable_endpoint(self, endpoint_id: str, reason: str, now: datetime) -> bool:
        result = await self.session.execute(
            update(WebhookEndpoint)  # scoping: exempt (sender: delivery queue across tenants)
            .where(WebhookEndpoint.id == endpoint_id, WebhookEndpoint.status == "active")
            .values(status="disabled", disabled_reason=reason, disabled_at=now)
        )
        return bool(getattr(result, "rowcount", 0))

    async def endpoints(self, ids: set[str | None]) -> Sequence[WebhookEndpoint]:
        wanted = sorted(i for i in ids if i)
        if not wanted:
            return []
        stmt = select(WebhookEndpoint).where(  # scoping: exempt (sender: its batch's endpoints)
            WebhookEndpoint.id.in_(wanted)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def postpone(self, ids: Sequence[str], until: datetime) -> None:
        await self.session.execute(
            update(WebhookDelivery)  # scoping: exempt (sender: rows it holds)
            .where(WebhookDelivery.id.in_(ids))
            .values(next_attempt_at=until)
        )

    async def endpoint(self, endpoint_id: str) -> WebhookEndpoint | None:
        stmt = select(WebhookEndpoint).where(  # scoping: exempt (sender: the row's endpoint)
            WebhookEndpoint.id == endpoint_id
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def requeue_failed(self, since: datetime, tenant_id: str | None, now: datetime) -> int:
        """Operators: dead deliveries since `since` (of one tenant or all) go out again."""
        stmt = update(WebhookDelivery).where(  # scoping: exempt (operator bulk replay)
            WebhookDelivery.status == "dead", WebhookDelivery.created_at >= since
        )
        if tenant_id is not None:
            stmt = stmt.where(WebhookDelivery.tenant_id == tenant_id)
        result = await self.session.execute(
            stmt.values(status="pending", attempts=0, next_attempt_at=now, last_error=None)
        )
        return int(getattr(result, "rowcount", 0) or 0)

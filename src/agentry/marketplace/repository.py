from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from agentry.kit.repository import RepositoryBase, TenantScopedRepository
from agentry.models import Agent, AgentSubscription, MarketplaceListing


class ListingRepository(RepositoryBase[MarketplaceListing]):
    """The catalogue is platform-wide: a listing names its publisher, it is not tenant-owned."""

    model = MarketplaceListing

    async def by_agent(self, agent_id: str) -> MarketplaceListing | None:
        result = await self.session.execute(
            select(MarketplaceListing).where(MarketplaceListing.agent_id == agent_id)
        )
        return result.scalar_one_or_none()

    async def with_agents(
        self, *, status: str | None = None, publisher: str | None = None
    ) -> Sequence[tuple[MarketplaceListing, Agent]]:
        stmt = select(MarketplaceListing, Agent).join(
            Agent, Agent.id == MarketplaceListing.agent_id
        )
        if status is not None:
            stmt = stmt.where(MarketplaceListing.status == status)
        if publisher is not None:
            stmt = stmt.where(MarketplaceListing.publisher_tenant_id == publisher)
        result = await self.session.execute(stmt.order_by(Agent.name))
        return [(listing, agent) for listing, agent in result.all()]


class SubscriptionRepository(TenantScopedRepository[AgentSubscription]):
    model = AgentSubscription

    async def agent_ids(self) -> set[str]:
        result = await self.session.execute(self.scoped())
        return {s.agent_id for s in result.scalars().all()}

    async def for_agent(self, agent_id: str) -> AgentSubscription | None:
        result = await self.session.execute(
            self.scoped().where(AgentSubscription.agent_id == agent_id)
        )
        return result.scalar_one_or_none()

    async def remove(self, subscription: AgentSubscription) -> None:
        await self.session.delete(subscription)
        await self.session.flush()

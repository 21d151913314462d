from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Row, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from agentry.kit.repository import TenantScopedRepository
from agentry.models import Agent, UsageEvent

GroupBy = Literal["agent", "day", "model", "tenant"]


def _group_column(group_by: GroupBy) -> Any:
    if group_by == "agent":
        return func.coalesce(Agent.name, UsageEvent.agent_id)
    if group_by == "day":
        return func.date(UsageEvent.at)
    if group_by == "model":
        return func.coalesce(UsageEvent.model, "")
    return UsageEvent.tenant_id


def _totals(group_by: GroupBy, start: datetime, end: datetime) -> Any:
    key = _group_column(group_by)
    return (
        select(  # scoping: exempt (shared builder: the tenant report adds its tenant filter)
            key.label("key"),
            UsageEvent.kind,
            func.sum(UsageEvent.quantity).label("quantity"),
            func.sum(UsageEvent.cost).label("cost"),
        )
        .outerjoin(Agent, Agent.id == UsageEvent.agent_id)
        .where(UsageEvent.at >= start, UsageEvent.at < end)
        .group_by(key, UsageEvent.kind)
        .order_by(key, UsageEvent.kind)
    )


class UsageReportRepository(TenantScopedRepository[UsageEvent]):
    model = UsageEvent

    async def totals(self, group_by: GroupBy, start: datetime, end: datetime) -> Sequence[Row[Any]]:
        stmt = _totals(group_by, start, end).where(UsageEvent.tenant_id == self.tenant_id)
        return (await self.session.execute(stmt)).all()

    async def daily(self, start: datetime, end: datetime) -> Sequence[Row[Any]]:
        """One row per day, agent, model and kind: what the web app's chart and CSV show."""
        day = func.date(UsageEvent.at)
        agent = func.coalesce(Agent.name, UsageEvent.agent_id)
        model = func.coalesce(UsageEvent.model, "")
        stmt = (
            select(
                day.label("day"),
                agent.label("agent"),
                model.label("model"),
                UsageEvent.kind,
                func.count().label("events"),
                func.sum(UsageEvent.quantity).label("quantity"),
                func.sum(UsageEvent.cost).label("cost"),
            )
            .outerjoin(Agent, Agent.id == UsageEvent.agent_id)
            .where(
                UsageEvent.tenant_id == self.tenant_id,
                UsageEvent.at >= start,
                UsageEvent.at < end,
            )
            .group_by(day, agent, model, UsageEvent.kind)
            .order_by(day, agent, model, UsageEvent.kind)
        )
        return (await self.session.execute(stmt)).all()


class PlatformUsageRepository:
    """Operators: across tenants (the one deliberate unscoped read of usage_events)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def totals(
        self, group_by: GroupBy, start: datetime, end: datetime, tenant_id: str | None
    ) -> Sequence[Row[Any]]:
        stmt = _totals(group_by, start, end)  # scoping: exempt (operator report)
        if tenant_id is not None:
            stmt = stmt.where(UsageEvent.tenant_id == tenant_id)
        return (await self.session.execute(stmt)).all()

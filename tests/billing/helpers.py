"""Usage rows written as the recorders write them (priced by the book at their time)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agentry.kit.db.engine import session_scope
from agentry.metering.service import Pricing, record_usage, usage_row


async def record(
    maker: async_sessionmaker[AsyncSession],
    prices: Pricing,
    *,
    tenant_id: str,
    tier: str,
    key: str,
    kind: str,
    quantity: int,
    at: datetime,
    agent_id: str = "agt_concierge",
    model: str | None = None,
) -> bool:
    async with session_scope(maker) as session:
        return await record_usage(
            session,
            usage_row(
                tenant_id=tenant_id,
                agent_id=agent_id,
                version_number=1,
                invocation_id=f"inv_{key}",
                kind=kind,
                quantity=quantity,
                idempotency_key=key,
                model=model,
                price=prices.price(tier, kind, model=model, at=at),
                at=at,
            ),
        )

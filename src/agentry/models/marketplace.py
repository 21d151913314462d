from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from agentry.kit.clock import utcnow
from agentry.kit.db.base import Base


class ListingStatus(StrEnum):
    pending = "pending"  # the publisher's tenant only, until an operator approves
    approved = "approved"  # in the catalogue: subscribers (and the publisher) may invoke it
    rejected = "rejected"
    withdrawn = "withdrawn"  # back to a platform agent every tenant may invoke


GATED = (ListingStatus.pending.value, ListingStatus.approved.value)


class MarketplaceListing(Base):
    """An agent offered in the catalogue by the tenant that publishes it (platform-wide)."""

    __tablename__ = "marketplace_listings"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    agent_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("agents.id", ondelete="CASCADE"), unique=True
    )
    publisher_tenant_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("tenants.id", ondelete="CASCADE")
    )
    status: Mapped[str] = mapped_column(String(20))
    description: Mapped[str] = mapped_column(Text, default="")
    tags: Mapped[list[str]] = mapped_column(default=list)
    skills: Mapped[list[str]] = mapped_column(default=list)
    tier_minimum: Mapped[str | None] = mapped_column(String(20), default=None)
    price_hint: Mapped[str] = mapped_column(String(200), default="")
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    reviewed_by: Mapped[str | None] = mapped_column(String(200), default=None)
    reviewed_at: Mapped[datetime | None] = mapped_column(default=None)
    review_note: Mapped[str] = mapped_column(String(500), default="")


class AgentSubscription(Base):
    """A tenant's subscription to a listed agent: its entitlement to invoke it."""

    __tablename__ = "agent_subscriptions"
    __table_args__ = (UniqueConstraint("tenant_id", "agent_id"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(40), ForeignKey("tenants.id", ondelete="CASCADE"))
    agent_id: Mapped[str] = mapped_column(String(40), ForeignKey("agents.id", ondelete="CASCADE"))
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

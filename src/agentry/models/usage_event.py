from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from agentry.kit.clock import utcnow
from agentry.kit.db.base import Base


class UsageEvent(Base):
    """One metered quantity. `idempotency_key` makes recording exactly-once across retries."""

    __tablename__ = "usage_events"
    __table_args__ = (
        Index("ix_usage_events_tenant_at", "tenant_id", "at"),
        Index("ix_usage_events_invocation", "invocation_id", "kind"),  # budgets read these
        # The monthly billing run reads a month of every tenant: BRIN on PostgreSQL (tiny, and
        # rows arrive in time order), a b-tree on SQLite.
        Index("ix_usage_events_at", "at", postgresql_using="brin"),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    tenant_id: Mapped[str] = mapped_column(String(40), ForeignKey("tenants.id", ondelete="CASCADE"))
    agent_id: Mapped[str] = mapped_column(String(40))
    version_number: Mapped[int] = mapped_column(Integer)
    invocation_id: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(40))
    model: Mapped[str | None] = mapped_column(String(200), default=None)
    quantity: Mapped[int] = mapped_column(BigInteger)
    unit_price: Mapped[Decimal] = mapped_column(Numeric(18, 9), default=Decimal(0))
    cost: Mapped[Decimal] = mapped_column(Numeric(18, 9), default=Decimal(0))
    price_id: Mapped[str | None] = mapped_column(String(40), default=None)  # the book row applied
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)

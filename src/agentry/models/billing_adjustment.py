from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from agentry.kit.clock import utcnow
from agentry.kit.db.base import Base


class BillingAdjustment(Base):
    """An operator's credit (negative) or charge (positive) on a tenant's month, with why."""

    __tablename__ = "billing_adjustments"
    __table_args__ = (Index("ix_billing_adjustments_tenant_month", "tenant_id", "month"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(40), ForeignKey("tenants.id", ondelete="CASCADE"))
    month: Mapped[str] = mapped_column(String(7))
    amount: Mapped[Decimal] = mapped_column(Numeric(18, 9))
    reason: Mapped[str] = mapped_column(String(500))
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

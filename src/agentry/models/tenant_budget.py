from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from agentry.kit.clock import utcnow
from agentry.kit.db.base import Base


class TenantBudget(Base):
    """A tenant's monthly spending limit (UTC calendar months) and what was signalled.

    `warned_month`/`exhausted_month` ("YYYY-MM") make the 80% and 100% events fire once a
    month; `reinstated_month` lifts the refusal for the rest of that month.
    """

    __tablename__ = "tenant_budgets"

    tenant_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    monthly_limit: Mapped[Decimal | None] = mapped_column(Numeric(18, 9), default=None)
    ceiling: Mapped[Decimal | None] = mapped_column(Numeric(18, 9), default=None)
    warned_month: Mapped[str | None] = mapped_column(String(7), default=None)
    exhausted_month: Mapped[str | None] = mapped_column(String(7), default=None)
    reinstated_month: Mapped[str | None] = mapped_column(String(7), default=None)
    updated_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from agentry.kit.clock import utcnow
from agentry.kit.db.base import Base


class Price(Base):
    """One unit price of the price book, in force over [effective_from, effective_to).

    `model` is "" for the tier's price of a kind whatever the model; a model's own price
    wins over it. Rows are never edited but to close them when a later price takes over.
    """

    __tablename__ = "prices"
    __table_args__ = (
        UniqueConstraint("tier", "kind", "model", "effective_from", name="uq_prices_key_from"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    currency: Mapped[str] = mapped_column(String(3))
    tier: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(40))
    model: Mapped[str] = mapped_column(String(200), default="")
    unit_price: Mapped[Decimal] = mapped_column(Numeric(18, 9))
    effective_from: Mapped[datetime] = mapped_column()
    effective_to: Mapped[datetime | None] = mapped_column(default=None)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

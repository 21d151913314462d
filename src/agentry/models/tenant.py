from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from agentry.kit.clock import utcnow
from agentry.kit.db.base import Base


class Tier(StrEnum):
    basic = "basic"
    standard = "standard"
    premium = "premium"


class TenantStatus(StrEnum):
    active = "active"
    suspended = "suspended"


class Tenant(Base):
    __tablename__ = "tenants"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    slug: Mapped[str] = mapped_column(String(63), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    tier: Mapped[str] = mapped_column(String(20), default=Tier.basic.value)
    status: Mapped[str] = mapped_column(String(20), default=TenantStatus.active.value)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

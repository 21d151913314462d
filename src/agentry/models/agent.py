from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from agentry.kit.clock import utcnow
from agentry.kit.db.base import Base


class Agent(Base):
    """A published agent. Platform-owned: tenants may invoke it when their tier allows."""

    __tablename__ = "agents"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(48), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    runtime_id: Mapped[str | None] = mapped_column(String(100), default=None)
    runtime_arn: Mapped[str | None] = mapped_column(String(300), default=None)
    # Per runtime region: {"eu-central-1": {"id": ..., "arn": ...}}. runtime_id/runtime_arn
    # above are the canonical pair that routes and jobs carry; the region map translates.
    region_runtimes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    allowed_tiers: Mapped[list[str]] = mapped_column(default=list)
    modes: Mapped[list[str]] = mapped_column(default=list)
    allowed_tenants: Mapped[list[str]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

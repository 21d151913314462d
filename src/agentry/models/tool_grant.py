from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from agentry.kit.clock import utcnow
from agentry.kit.db.base import Base


class ToolGrant(Base):
    """Which tiers may use a tool, when an operator changed it from the catalog default."""

    __tablename__ = "tool_grants"

    tool: Mapped[str] = mapped_column(String(200), primary_key=True)
    tiers: Mapped[list[str]] = mapped_column(default=list)
    updated_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

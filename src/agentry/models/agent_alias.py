from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from agentry.kit.clock import utcnow
from agentry.kit.db.base import Base


class AgentAlias(Base):
    """A name (`live`) pointing at a version; maps to an AgentCore runtime endpoint."""

    __tablename__ = "agent_aliases"
    __table_args__ = (UniqueConstraint("agent_id", "name"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    agent_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("agents.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(48))
    version_number: Mapped[int] = mapped_column(Integer)
    # Set while a canary runs: this version gets `canary_weight`% of new sessions.
    canary_version_number: Mapped[int | None] = mapped_column(Integer, default=None)
    canary_weight: Mapped[int] = mapped_column(Integer, default=0)
    canary_started_at: Mapped[datetime | None] = mapped_column(default=None)
    # Where `rollback` goes: the version the alias held before its last move.
    previous_version_number: Mapped[int | None] = mapped_column(Integer, default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

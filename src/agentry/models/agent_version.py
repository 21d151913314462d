from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from agentry.kit.clock import utcnow
from agentry.kit.db.base import Base


class AgentVersion(Base):
    """An immutable version: one content digest, one AgentCore runtime version."""

    __tablename__ = "agent_versions"
    __table_args__ = (
        UniqueConstraint("agent_id", "number"),
        UniqueConstraint("agent_id", "digest"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    agent_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("agents.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int] = mapped_column(Integer)
    digest: Mapped[str] = mapped_column(String(71))
    runtime_version: Mapped[str] = mapped_column(String(20))
    # The AgentCore runtime version of this code in each runtime region ({region: "3"}).
    region_versions: Mapped[dict[str, Any]] = mapped_column(default=dict)
    artifact_uri: Mapped[str] = mapped_column(String(500))
    manifest: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_by: Mapped[str | None] = mapped_column(String(200), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

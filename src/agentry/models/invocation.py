from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from agentry.kit.clock import utcnow
from agentry.kit.db.base import Base


class Invocation(Base):
    """One call of an agent by a tenant, in any mode. Never holds payload content."""

    __tablename__ = "invocations"
    __table_args__ = (Index("ix_invocations_tenant_created", "tenant_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(40), ForeignKey("tenants.id", ondelete="CASCADE"))
    agent_id: Mapped[str] = mapped_column(String(40), ForeignKey("agents.id", ondelete="CASCADE"))
    version_number: Mapped[int] = mapped_column(Integer)
    alias: Mapped[str] = mapped_column(String(48))
    mode: Mapped[str] = mapped_column(String(10))
    session_id: Mapped[str] = mapped_column(String(256))
    runtime_session_id: Mapped[str] = mapped_column(String(256))
    status: Mapped[str] = mapped_column(String(20))
    error_code: Mapped[str | None] = mapped_column(String(60), default=None)
    api_key_id: Mapped[str | None] = mapped_column(String(40), default=None)
    request_id: Mapped[str] = mapped_column(String(64))  # the trace id: shared by every A2A hop
    # The calling agent's invocation, when an agent delegated this call (A2A).
    parent_invocation_id: Mapped[str | None] = mapped_column(String(40), default=None)
    runtime_ms: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)

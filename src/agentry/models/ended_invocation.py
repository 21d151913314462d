from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from agentry.kit.clock import utcnow
from agentry.kit.db.base import Base


class EndedInvocation(Base):
    """An invocation that has ended: its invocation tokens are refused from then on.

    Kept until every token it was given has expired (`expires_at`), then purged.
    """

    __tablename__ = "ended_invocations"
    __table_args__ = (Index("ix_ended_invocations_ended_at", "ended_at"),)

    invocation_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    ended_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()

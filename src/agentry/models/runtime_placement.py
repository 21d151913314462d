from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from agentry.kit.clock import utcnow
from agentry.kit.db.base import Base

PLACEMENT_ID = "runtime"


class RuntimePlacement(Base):
    """Which runtime region serves agents, and the failover lock (RUNBOOK-001). One row.

    Platform config, not tenant-owned. Every process polls it; `generation` grows by one per
    switch, so a process knows it has to move its in-flight jobs.
    """

    __tablename__ = "runtime_placement"

    id: Mapped[str] = mapped_column(String(20), primary_key=True, default=PLACEMENT_ID)
    active_region: Mapped[str] = mapped_column(String(40))
    previous_region: Mapped[str | None] = mapped_column(String(40), default=None)
    generation: Mapped[int] = mapped_column(Integer, default=0)
    changed_by: Mapped[str | None] = mapped_column(String(200), default=None)
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    lock_holder: Mapped[str | None] = mapped_column(String(200), default=None)
    lock_reason: Mapped[str | None] = mapped_column(Text, default=None)
    lock_taken_at: Mapped[datetime | None] = mapped_column(default=None)

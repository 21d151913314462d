from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from agentry.kit.clock import utcnow
from agentry.kit.db.base import Base


class JobStatus(StrEnum):
    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"
    cancelled = "cancelled"
    timed_out = "timed_out"


TERMINAL = frozenset(
    {JobStatus.succeeded, JobStatus.failed, JobStatus.cancelled, JobStatus.timed_out}
)


class Job(Base):
    """An async invocation, run by a worker holding its lease (`lease_owner`)."""

    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_status_available", "status", "available_at"),
        Index("ix_jobs_tenant_created", "tenant_id", "created_at"),
        UniqueConstraint("tenant_id", "idempotency_key", name="uq_jobs_tenant_idempotency"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(40), ForeignKey("tenants.id", ondelete="CASCADE"))
    agent_id: Mapped[str] = mapped_column(String(40), ForeignKey("agents.id", ondelete="CASCADE"))
    agent_name: Mapped[str] = mapped_column(String(48))
    version_number: Mapped[int] = mapped_column(Integer)
    alias: Mapped[str] = mapped_column(String(48))
    runtime_arn: Mapped[str] = mapped_column(String(300))
    qualifier: Mapped[str] = mapped_column(String(48))
    async_agent: Mapped[bool] = mapped_column(default=False)
    session_id: Mapped[str] = mapped_column(String(256))
    runtime_session_id: Mapped[str] = mapped_column(String(256))
    status: Mapped[str] = mapped_column(String(20), default=JobStatus.queued.value)
    input: Mapped[Any] = mapped_column(JSON)
    result: Mapped[Any | None] = mapped_column(JSON, default=None)
    progress: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    checkpoint: Mapped[Any | None] = mapped_column(JSON, default=None)
    error_code: Mapped[str | None] = mapped_column(String(60), default=None)
    error_message: Mapped[str | None] = mapped_column(Text, default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    lease_owner: Mapped[str | None] = mapped_column(String(100), default=None)
    lease_expires_at: Mapped[datetime | None] = mapped_column(default=None)
    available_at: Mapped[datetime] = mapped_column(default=utcnow)
    deadline_s: Mapped[int] = mapped_column(Integer)
    deadline_at: Mapped[datetime | None] = mapped_column(default=None)
    agent_seen_at: Mapped[datetime | None] = mapped_column(default=None)
    # The runtime session the job runs in now: when it started (None until the next claim)
    # and how many sessions the job has had (a session ends at its max lifetime at most).
    session_started_at: Mapped[datetime | None] = mapped_column(default=None)
    sessions: Mapped[int] = mapped_column(Integer, default=1)
    webhook_url: Mapped[str | None] = mapped_column(String(2000), default=None)
    webhook_secret: Mapped[str | None] = mapped_column(Text, default=None)
    idempotency_key: Mapped[str | None] = mapped_column(String(255), default=None)
    request_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    api_key_id: Mapped[str | None] = mapped_column(String(40), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from agentry.kit.clock import utcnow
from agentry.kit.db.base import Base

PLATFORM_SCOPE = "platform"  # the `tenant_id` of the platform's own policy set


class PolicySet(Base):
    """One Cedar policy set: a tenant's, or the platform's (`tenant_id` = "platform").

    `enforced_version` decides (ENFORCE); `shadow_version` is evaluated beside it and only
    logged (LOG_ONLY). Either may be unset.
    """

    __tablename__ = "policy_sets"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(40), unique=True)
    enforced_version: Mapped[int | None] = mapped_column(Integer, default=None)
    shadow_version: Mapped[int | None] = mapped_column(Integer, default=None)
    updated_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class PolicyVersion(Base):
    """A published (validated) version of a policy set's Cedar text. Never edited."""

    __tablename__ = "policy_versions"
    __table_args__ = (UniqueConstraint("tenant_id", "number"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(40))
    number: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(String(500), default="")
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    enforced_at: Mapped[datetime | None] = mapped_column(default=None)

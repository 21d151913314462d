from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from agentry.kit.db.base import Base


class AuditEvent(Base):
    """Append-only, hash-chained audit trail. Never holds tokens, keys or payloads.

    `hash` covers the row's fields with tenant ids and actors in pseudonymised form, so
    erasing a tenant (replacing its ids with their pseudonyms) leaves the chain verifiable.
    """

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_actor_tenant", "actor_tenant_id", "seq"),
        Index("ix_audit_events_target_tenant", "target_tenant_id", "seq"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(200))
    actor_tenant_id: Mapped[str | None] = mapped_column(String(64), default=None)
    target_tenant_id: Mapped[str | None] = mapped_column(String(64), default=None)
    action: Mapped[str] = mapped_column(String(100))
    outcome: Mapped[str] = mapped_column(String(20))
    request_id: Mapped[str | None] = mapped_column(String(64), default=None)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    # "hmac-sha256" (keyed, since 0011); rows written before that are "sha256" (unkeyed).
    hash_alg: Mapped[str] = mapped_column(String(16), default="hmac-sha256")

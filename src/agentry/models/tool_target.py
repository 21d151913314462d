from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from agentry.kit.clock import utcnow
from agentry.kit.db.base import Base


class ToolTarget(Base):
    """An external MCP server an operator registered as a tool-gateway target (platform config).

    `tools` is the snapshot of its `tools/list` (name, description, inputSchema), refreshed on
    demand; `auth_header_enc` is the optional `Name: value` header, Fernet-sealed, never in clear.
    """

    __tablename__ = "tool_targets"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    tools: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    default_tiers: Mapped[list[str]] = mapped_column(default=list)
    auth_header_enc: Mapped[str | None] = mapped_column(Text, default=None)
    aws_target_id: Mapped[str | None] = mapped_column(String(100), default=None)
    idempotency_key: Mapped[str | None] = mapped_column(String(255), default=None)
    request_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel


class AuditEventRead(BaseModel):
    id: str
    seq: int
    at: datetime
    actor: str
    actor_tenant_id: str | None
    target_tenant_id: str | None
    action: str
    outcome: str
    request_id: str | None
    details: dict[str, Any]


class AuditEventList(BaseModel):
    items: list[AuditEventRead]
    next_before_seq: int | None

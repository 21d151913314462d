from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from agentry.kit.clock import utcnow
from agentry.kit.db.base import Base


class TenantEntraId(Base):
    """An Entra ID directory (`tid`) whose tokens act for a tenant. A tenant may have several."""

    __tablename__ = "tenant_entra_ids"

    entra_tenant_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("tenants.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

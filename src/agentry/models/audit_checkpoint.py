from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from agentry.kit.db.base import Base


class AuditCheckpoint(Base):
    """A signed record of the audit chain's head: `seq` and its row `hash` at time `at`.

    Also published outside the database (a file locally, S3 Object Lock in AWS), so deleting
    the chain's tail together with these rows is still detected. See `audit/checkpoints.py`.
    """

    __tablename__ = "audit_checkpoints"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, index=True)
    head_hash: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]
    signature: Mapped[str] = mapped_column(String(64))

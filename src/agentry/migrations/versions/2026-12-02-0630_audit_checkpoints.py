"""audit chain anchors: keyed row hashes (hash_alg) and signed checkpoints of the chain head

Revision ID: 0011_audit_checkpoints
Revises: 0010_usage_invocation_index
Create Date: 2026-12-02 06:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_audit_checkpoints"
down_revision: str | None = "0010_usage_invocation_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Rows written so far were hashed with plain SHA-256; they stay verifiable as a legacy
    # prefix of the chain (audit/service.py refuses a sha256 row after the first keyed one).
    op.add_column(
        "audit_events",
        sa.Column("hash_alg", sa.String(16), nullable=False, server_default="sha256"),
    )
    op.create_table(
        "audit_checkpoints",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("head_hash", sa.String(64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("signature", sa.String(64), nullable=False),
    )
    op.create_index("ix_audit_checkpoints_seq", "audit_checkpoints", ["seq"])


def downgrade() -> None:
    op.drop_index("ix_audit_checkpoints_seq", table_name="audit_checkpoints")
    op.drop_table("audit_checkpoints")
    op.drop_column("audit_events", "hash_alg")

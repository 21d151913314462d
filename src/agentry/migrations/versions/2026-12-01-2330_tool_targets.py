"""tool targets (operator-registered external MCP servers)

Revision ID: 0009_tool_targets
Revises: 0008_ended_invocations
Create Date: 2026-12-01 23:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_tool_targets"
down_revision: str | None = "0008_ended_invocations"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "tool_targets",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("tools", sa.JSON(), nullable=False),
        sa.Column("default_tiers", sa.JSON(), nullable=False),
        sa.Column("auth_header_enc", sa.Text(), nullable=True),
        sa.Column("aws_target_id", sa.String(length=100), nullable=True),
        sa.Column("idempotency_key", sa.String(length=255), nullable=True),
        sa.Column("request_hash", sa.String(length=64), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_tool_targets")),
    )


def downgrade() -> None:
    op.drop_table("tool_targets")

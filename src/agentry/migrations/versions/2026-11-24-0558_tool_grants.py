"""tool grants

Revision ID: 0007_tool_grants
Revises: 0005_jobs_webhooks
Create Date: 2026-11-24 05:58:19.102283
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_tool_grants"
down_revision: str | None = "0006_registry_selfservice"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "tool_grants",
        sa.Column("tool", sa.String(length=200), nullable=False),
        sa.Column("tiers", sa.JSON(), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tool", name=op.f("pk_tool_grants")),
    )


def downgrade() -> None:

    op.drop_table("tool_grants")

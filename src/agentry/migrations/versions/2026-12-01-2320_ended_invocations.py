"""ended invocations (their tokens are refused)

Revision ID: 0008_ended_invocations
Revises: 0007_tool_grants
Create Date: 2026-12-01 23:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_ended_invocations"
down_revision: str | None = "0007_tool_grants"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ended_invocations",
        sa.Column("invocation_id", sa.String(length=64), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("invocation_id", name=op.f("pk_ended_invocations")),
    )
    op.create_index("ix_ended_invocations_ended_at", "ended_invocations", ["ended_at"])


def downgrade() -> None:
    op.drop_index("ix_ended_invocations_ended_at", table_name="ended_invocations")
    op.drop_table("ended_invocations")

"""usage events by invocation (budgets read an invocation's recorded usage)

Revision ID: 0010_usage_invocation_index
Revises: 0009_tool_targets
Create Date: 2026-12-01 23:50:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010_usage_invocation_index"
down_revision: str | None = "0009_tool_targets"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_usage_events_invocation", "usage_events", ["invocation_id", "kind"])


def downgrade() -> None:
    op.drop_index("ix_usage_events_invocation", table_name="usage_events")

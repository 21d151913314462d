"""runtime placement: the active runtime region and the failover lock (RUNBOOK-001); agents
and versions per runtime region

Revision ID: 0016_runtime_placement
Revises: 0015_webhook_features
Create Date: 2026-12-03 07:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016_runtime_placement"
down_revision: str | None = "0015_webhook_features"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "runtime_placement",
        sa.Column("id", sa.String(20), primary_key=True),
        sa.Column("active_region", sa.String(40), nullable=False),
        sa.Column("previous_region", sa.String(40), nullable=True),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("changed_by", sa.String(200), nullable=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lock_holder", sa.String(200), nullable=True),
        sa.Column("lock_reason", sa.Text(), nullable=True),
        sa.Column("lock_taken_at", sa.DateTime(timezone=True), nullable=True),
    )
    with op.batch_alter_table("agents") as t:
        t.add_column(sa.Column("region_runtimes", sa.JSON(), nullable=False, server_default="{}"))
    with op.batch_alter_table("agent_versions") as t:
        t.add_column(sa.Column("region_versions", sa.JSON(), nullable=False, server_default="{}"))


def downgrade() -> None:
    with op.batch_alter_table("agent_versions") as t:
        t.drop_column("region_versions")
    with op.batch_alter_table("agents") as t:
        t.drop_column("region_runtimes")
    op.drop_table("runtime_placement")

"""registry self-service: canary columns on aliases, tenant allow-list on agents

Revision ID: 0006_registry_selfservice
Revises: 0002_audit_events
Create Date: 2026-11-24 05:28:52.053387
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_registry_selfservice"
down_revision: str | None = "0005_jobs_webhooks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("agent_aliases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("canary_version_number", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("canary_weight", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("canary_started_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("previous_version_number", sa.Integer(), nullable=True))

    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("allowed_tenants", sa.JSON(), nullable=False, server_default="[]")
        )


def downgrade() -> None:
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.drop_column("allowed_tenants")

    with op.batch_alter_table("agent_aliases", schema=None) as batch_op:
        batch_op.drop_column("previous_version_number")
        batch_op.drop_column("canary_started_at")
        batch_op.drop_column("canary_weight")
        batch_op.drop_column("canary_version_number")

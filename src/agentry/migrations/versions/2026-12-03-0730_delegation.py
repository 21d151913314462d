"""invocations: the parent invocation of an agent-to-agent call

Revision ID: 0017_delegation
Revises: 0016_policies
Create Date: 2026-12-03 07:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017_delegation"
down_revision: str | None = "0016_policies"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("invocations") as t:
        t.add_column(sa.Column("parent_invocation_id", sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("invocations") as t:
        t.drop_column("parent_invocation_id")

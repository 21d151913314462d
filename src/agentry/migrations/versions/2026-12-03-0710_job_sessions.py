"""jobs: the current runtime session's start and the number of sessions (hand-over)

Revision ID: 0017_job_sessions
Revises: 0016_runtime_placement
Create Date: 2026-12-03 07:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017_job_sessions"
down_revision: str | None = "0016_runtime_placement"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as t:
        t.add_column(sa.Column("session_started_at", sa.DateTime(timezone=True), nullable=True))
        t.add_column(sa.Column("sessions", sa.Integer(), nullable=False, server_default="1"))


def downgrade() -> None:
    with op.batch_alter_table("jobs") as t:
        t.drop_column("sessions")
        t.drop_column("session_started_at")

"""webhook endpoints: event-type filters, rate limits, secret rotation overlap, failing
since / auto-disable; deliveries: latency and a per-endpoint log index

Revision ID: 0015_webhook_features
Revises: 0012_billing
Create Date: 2026-12-02 19:35:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015_webhook_features"
down_revision: str | None = "0012_billing"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("webhook_endpoints") as t:
        t.add_column(sa.Column("event_types", sa.JSON(), nullable=False, server_default="[]"))
        t.add_column(sa.Column("rate_limit_per_s", sa.Integer(), nullable=True))
        t.add_column(sa.Column("previous_secret_enc", sa.Text(), nullable=True))
        t.add_column(
            sa.Column("previous_secret_expires_at", sa.DateTime(timezone=True), nullable=True)
        )
        t.add_column(sa.Column("failing_since", sa.DateTime(timezone=True), nullable=True))
        t.add_column(sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("webhook_deliveries", sa.Column("last_latency_ms", sa.Integer(), nullable=True))
    op.create_index(
        "ix_webhook_deliveries_endpoint_created",
        "webhook_deliveries",
        ["endpoint_id", "created_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_webhook_deliveries_endpoint_created", table_name="webhook_deliveries")
    op.drop_column("webhook_deliveries", "last_latency_ms")
    with op.batch_alter_table("webhook_endpoints") as t:
        for name in (
            "disabled_at",
            "failing_since",
            "previous_secret_expires_at",
            "previous_secret_enc",
            "rate_limit_per_s",
            "event_types",
        ):
            t.drop_column(name)

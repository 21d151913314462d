"""billing: the price book as data, monthly budgets, adjustments; the price row on usage

Revision ID: 0012_billing
Revises: 0011_audit_checkpoints
Create Date: 2026-12-02 18:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_billing"
down_revision: str | None = "0011_audit_checkpoints"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "prices",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("tier", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("unit_price", sa.Numeric(18, 9), nullable=False),
        sa.Column("effective_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("effective_to", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("tier", "kind", "model", "effective_from", name="uq_prices_key_from"),
    )
    op.create_table(
        "tenant_budgets",
        sa.Column(
            "tenant_id",
            sa.String(40),
            sa.ForeignKey("tenants.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("monthly_limit", sa.Numeric(18, 9), nullable=True),
        sa.Column("ceiling", sa.Numeric(18, 9), nullable=True),
        sa.Column("warned_month", sa.String(7), nullable=True),
        sa.Column("exhausted_month", sa.String(7), nullable=True),
        sa.Column("reinstated_month", sa.String(7), nullable=True),
        sa.Column("updated_by", sa.String(200), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "billing_adjustments",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column(
            "tenant_id",
            sa.String(40),
            sa.ForeignKey("tenants.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("amount", sa.Numeric(18, 9), nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "ix_billing_adjustments_tenant_month", "billing_adjustments", ["tenant_id", "month"]
    )
    op.add_column("usage_events", sa.Column("price_id", sa.String(40), nullable=True))
    op.create_index("ix_usage_events_at", "usage_events", ["at"], postgresql_using="brin")


def downgrade() -> None:
    op.drop_index("ix_usage_events_at", table_name="usage_events")
    op.drop_column("usage_events", "price_id")
    op.drop_index("ix_billing_adjustments_tenant_month", table_name="billing_adjustments")
    op.drop_table("billing_adjustments")
    op.drop_table("tenant_budgets")
    op.drop_table("prices")

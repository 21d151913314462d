"""Billing API shapes. Money is a decimal string in JSON, never a float."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, Field

from agentry.kit.text import IsoDateTime


class PriceCreate(BaseModel):
    tier: str = Field(description="basic, standard or premium.")
    kind: str = Field(description="input_tokens, output_tokens, tool_call or runtime_ms.")
    model: str = Field("", max_length=200, description="Only for this model; empty: any model.")
    unit_price: str = Field(description='Decimal string, at most 9 decimals, e.g. "0.000002".')
    effective_from: IsoDateTime = Field(description="When it takes effect (never in the past).")


class PriceOut(BaseModel):
    id: str
    currency: str
    tier: str
    kind: str
    model: str
    unit_price: Decimal
    effective_from: datetime
    effective_to: datetime | None
    created_by: str
    created_at: datetime


class PriceList(BaseModel):
    currency: str
    items: list[PriceOut]


class BudgetSet(BaseModel):
    monthly_limit: str | None = Field(
        description="Decimal string in the book's currency; null removes the budget."
    )


class OperatorBudgetSet(BudgetSet):
    ceiling: str | None = Field(
        None, description="The most a tenant admin may set the budget to; null: no ceiling."
    )


class BudgetOut(BaseModel):
    tenant_id: str
    month: str
    currency: str
    monthly_limit: Decimal | None
    ceiling: Decimal | None
    spent: Decimal = Field(description="Month to date, exact (9 decimals).")
    status: str = Field(description="none, ok, warning (>= 80%), exhausted (>= 100%), reinstated.")
    reinstated: bool


class Reinstate(BaseModel):
    reason: str = Field("", max_length=500)


class AdjustmentCreate(BaseModel):
    month: str = Field(description="YYYY-MM; the current or a past month.")
    amount: str = Field(description="Decimal string: negative for a credit, positive for a charge.")
    reason: str = Field("", max_length=500, description="Required: shown on the statement.")


class AdjustmentOut(BaseModel):
    id: str
    month: str
    amount: Decimal
    reason: str
    created_by: str
    created_at: datetime


class StatementLine(BaseModel):
    agent_id: str
    agent: str
    model: str
    kind: str
    unit_price: Decimal
    events: int
    quantity: int
    amount: Decimal


class DailySpend(BaseModel):
    day: date
    amount: Decimal


class Statement(BaseModel):
    tenant_id: str
    tenant_slug: str
    month: str
    currency: str
    period_start: datetime
    period_end: datetime
    final: bool = Field(description="False while the month is still running.")
    lines: list[StatementLine]
    adjustments: list[AdjustmentOut]
    usage_total: Decimal
    adjustments_total: Decimal
    total: Decimal
    total_due: Decimal = Field(description="total rounded to cents, half up.")
    rounding: str
    daily: list[DailySpend]


class StatementList(BaseModel):
    month: str
    items: list[Statement]

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, Field


class UsageLine(BaseModel):
    key: str
    kind: str
    quantity: int
    cost: Decimal


class UsageReport(BaseModel):
    start: datetime
    end: datetime
    group_by: str
    currency: str = "USD"
    lines: list[UsageLine]
    total_cost: Decimal


class DailyUsageLine(BaseModel):
    day: str = Field(description="UTC date, YYYY-MM-DD")
    agent: str
    model: str = Field(description="Empty for quantities without a model (e.g. tool calls)")
    kind: str
    events: int
    quantity: int
    cost: Decimal


class DailyUsage(BaseModel):
    start: datetime
    end: datetime
    currency: str = "USD"
    lines: list[DailyUsageLine]
    total_cost: Decimal

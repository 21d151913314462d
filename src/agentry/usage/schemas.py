from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, Field, PlainSerializer

# Fixed-point text ("0.000000100", never "1.00E-7"): what the CSV and the web app show.
Money = Annotated[Decimal, PlainSerializer(lambda d: format(d, "f"), return_type=str)]


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
    cost: Money


class DailyUsage(BaseModel):
    start: datetime
    end: datetime
    currency: str = "USD"
    lines: list[DailyUsageLine]
    total_cost: Money

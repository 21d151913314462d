from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel


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

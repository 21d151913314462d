from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from agentry.identity.auth import RequireScope
from agentry.identity.principal import Principal, Scope
from agentry.kit.clock import utcnow
from agentry.kit.errors import ValidationFailed
from agentry.kit.openapi import problem_responses
from agentry.platform import DbSession
from agentry.usage.repository import GroupBy, PlatformUsageRepository, UsageReportRepository
from agentry.usage.schemas import UsageLine, UsageReport

router = APIRouter(prefix="/v1/usage", tags=["usage"])
admin_router = APIRouter(prefix="/v1/admin/usage", tags=["admin"])
Reader = Annotated[Principal, Depends(RequireScope(Scope.usage_read))]
Operator = Annotated[Principal, Depends(RequireScope(Scope.platform_admin))]
From = Annotated[
    datetime | None, Query(alias="from", description="Start (inclusive); default 30 days ago.")
]
To = Annotated[datetime | None, Query(alias="to", description="End (exclusive); default now.")]


def _window(start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
    end = end or utcnow() + timedelta(seconds=1)
    start = start or end - timedelta(days=30)
    if start.tzinfo is None or end.tzinfo is None:
        raise ValidationFailed("from and to need a time zone, e.g. 2026-11-24T00:00:00Z")
    if start >= end:
        raise ValidationFailed("from must be before to")
    return start, end


def _report(rows: Any, start: datetime, end: datetime, group_by: str) -> UsageReport:
    lines = [
        UsageLine(key=str(r.key), kind=r.kind, quantity=int(r.quantity), cost=Decimal(r.cost or 0))
        for r in rows
    ]
    return UsageReport(
        start=start,
        end=end,
        group_by=group_by,
        lines=lines,
        total_cost=sum((line.cost for line in lines), Decimal(0)),
    )


@router.get(
    "",
    response_model=UsageReport,
    responses=problem_responses(401, 403, 422),
    summary="Usage and cost of your tenant",
)
async def tenant_usage(
    principal: Reader,
    session: DbSession,
    start: From = None,
    end: To = None,
    group_by: Annotated[GroupBy, Query()] = "agent",
) -> UsageReport:
    if group_by == "tenant":
        raise ValidationFailed("group_by must be agent, day or model")
    window = _window(start, end)
    rows = await UsageReportRepository(session, principal.tenant_id).totals(group_by, *window)
    return _report(rows, *window, group_by)


@admin_router.get(
    "",
    response_model=UsageReport,
    responses=problem_responses(401, 403, 422),
    summary="Usage across tenants",
)
async def platform_usage(
    _operator: Operator,
    session: DbSession,
    start: From = None,
    end: To = None,
    group_by: Annotated[GroupBy, Query()] = "tenant",
    tenant_id: str | None = None,
) -> UsageReport:
    window = _window(start, end)
    rows = await PlatformUsageRepository(session).totals(group_by, *window, tenant_id)
    return _report(rows, *window, group_by)

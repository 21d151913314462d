from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response

from agentry.identity.auth import RequireScope
from agentry.identity.principal import Principal, Scope
from agentry.kit.clock import utcnow
from agentry.kit.errors import ValidationFailed
from agentry.kit.openapi import problem_responses
from agentry.platform import DbSession, PlatformDep
from agentry.usage.repository import GroupBy, PlatformUsageRepository, UsageReportRepository
from agentry.usage.schemas import DailyUsage, DailyUsageLine, UsageLine, UsageReport

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


MAX_DAILY_WINDOW = timedelta(days=366)
CSV_COLUMNS = ("day", "agent", "model", "kind", "events", "quantity", "cost")
_NANO = Decimal("1e-9")


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


async def _daily(
    principal: Principal, session: DbSession, currency: str, start: From, end: To
) -> DailyUsage:
    window = _window(start, end)
    if window[1] - window[0] > MAX_DAILY_WINDOW:
        raise ValidationFailed("a daily report spans at most 366 days")
    rows = await UsageReportRepository(session, principal.tenant_id).daily(*window)
    lines = [
        DailyUsageLine(
            day=str(r.day),
            agent=str(r.agent),
            model=str(r.model),
            kind=r.kind,
            events=int(r.events),
            quantity=int(r.quantity),
            cost=Decimal(r.cost or 0).quantize(_NANO),
        )
        for r in rows
    ]
    total = sum((line.cost for line in lines), Decimal(0)).quantize(_NANO)
    return DailyUsage(
        start=window[0], end=window[1], currency=currency, lines=lines, total_cost=total
    )


@router.get(
    "/daily",
    response_model=DailyUsage,
    responses=problem_responses(401, 403, 422),
    summary="Your tenant's usage by day, agent, model and kind",
)
async def tenant_daily_usage(
    principal: Reader,
    session: DbSession,
    platform: PlatformDep,
    start: From = None,
    end: To = None,
) -> DailyUsage:
    """At most 366 days; days are UTC dates."""
    return await _daily(principal, session, platform.settings.billing_currency, start, end)


@router.get(
    "/daily.csv",
    response_class=Response,
    responses={
        200: {"content": {"text/csv": {}}, "description": "The daily lines as CSV"},
        **problem_responses(401, 403, 422),
    },
    summary="The same lines as CSV (a download)",
)
async def tenant_daily_usage_csv(
    principal: Reader,
    session: DbSession,
    platform: PlatformDep,
    start: From = None,
    end: To = None,
) -> Response:
    report = await _daily(principal, session, platform.settings.billing_currency, start, end)
    buffer = io.StringIO()
    out = csv.writer(buffer, lineterminator="\n")
    out.writerow(CSV_COLUMNS)
    for line in report.lines:
        out.writerow(
            (
                line.day,
                line.agent,
                line.model,
                line.kind,
                line.events,
                line.quantity,
                f"{line.cost:f}",
            )
        )
    name = f"usage-{report.start:%Y%m%d}-{report.end:%Y%m%d}.csv"
    return Response(
        buffer.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


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

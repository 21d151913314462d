"""Billing API: `/v1/billing` for tenants, `/v1/admin/billing` and
`/v1/admin/tenants/{id}/billing` for operators. Every change is audited."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession

from agentry.billing import service
from agentry.billing.budgets import WARN_RATIO, MonthlyBudgets
from agentry.billing.months import Month
from agentry.billing.repository import AdjustmentRepository, PriceRepository
from agentry.billing.schemas import (
    AdjustmentCreate,
    AdjustmentOut,
    BudgetOut,
    BudgetSet,
    OperatorBudgetSet,
    PriceCreate,
    PriceList,
    PriceOut,
    Reinstate,
    Statement,
    StatementList,
)
from agentry.identity.auth import Operator, RequireScope
from agentry.identity.principal import Principal, Scope
from agentry.kit.clock import utcnow
from agentry.kit.openapi import problem_responses
from agentry.models import Price, Tenant
from agentry.platform import DbSession, Platform, PlatformDep
from agentry.tenants.repository import TenantRepository
from agentry.tenants.service import get_tenant

router = APIRouter(prefix="/v1/billing", tags=["billing"])
admin_router = APIRouter(prefix="/v1/admin", tags=["admin"])
Reader = Annotated[Principal, Depends(RequireScope(Scope.usage_read))]
BillingAdmin = Annotated[Principal, Depends(RequireScope(Scope.billing_admin))]
_ERR = problem_responses(401, 403, 404, 409, 422)


def _budgets(request: Request) -> MonthlyBudgets:
    budgets: MonthlyBudgets = request.app.state.budgets
    return budgets


def _price(p: Price) -> PriceOut:
    return PriceOut(
        id=p.id,
        currency=p.currency,
        tier=p.tier,
        kind=p.kind,
        model=p.model,
        unit_price=Decimal(p.unit_price).quantize(Decimal("1e-9")),
        effective_from=p.effective_from,
        effective_to=p.effective_to,
        created_by=p.created_by,
        created_at=p.created_at,
    )


async def _audit(
    platform: Platform,
    session: AsyncSession,
    principal: Principal,
    action: str,
    target: str | None,
    **details: Any,
) -> None:
    await platform.audit.append(
        session,
        actor=principal.actor,
        action=action,
        actor_tenant_id=principal.tenant_id,
        target_tenant_id=target,
        details=details,
    )


async def _budget_out(session: AsyncSession, platform: Platform, tenant_id: str) -> BudgetOut:
    month = Month.current()
    row = await service.budget_row(session, tenant_id)
    spent = await service.month_spend(session, tenant_id, month)
    return BudgetOut(
        tenant_id=tenant_id,
        month=str(month),
        currency=platform.settings.billing_currency,
        monthly_limit=row.monthly_limit if row else None,
        ceiling=row.ceiling if row else None,
        spent=spent,
        status=service.budget_status(row, spent, month, WARN_RATIO),
        reinstated=bool(row and row.reinstated_month == str(month)),
    )


async def _statement(
    session: AsyncSession, platform: Platform, tenant: Tenant, month: str
) -> Statement:
    return await service.build_statement(
        session, tenant, Month.parse(month).started(), platform.settings.billing_currency
    )


def _limit(text: str | None) -> Decimal | None:
    return None if text is None else service.parse_amount(text, negative=False)


# Tenants


@router.get("/budget", response_model=BudgetOut, responses=_ERR, summary="Your monthly budget")
async def tenant_budget(principal: Reader, session: DbSession, platform: PlatformDep) -> BudgetOut:
    return await _budget_out(session, platform, principal.tenant_id)


@router.put("/budget", response_model=BudgetOut, responses=_ERR, summary="Set your monthly budget")
async def set_tenant_budget(
    body: BudgetSet,
    principal: BillingAdmin,
    session: DbSession,
    platform: PlatformDep,
    request: Request,
) -> BudgetOut:
    """Tenant admins: at most the ceiling the operator set. Below what is spent already it
    refuses new work at once."""
    limit = _limit(body.monthly_limit)
    await service.set_budget(
        session, principal.tenant_id, limit=limit, actor=principal.actor, operator=False
    )
    await _audit(
        platform, session, principal, "billing.budget_set", principal.tenant_id, limit=str(limit)
    )
    out = await _budget_out(session, platform, principal.tenant_id)
    await session.commit()
    _budgets(request).forget(principal.tenant_id)
    return out


@router.get(
    "/statements/{month}",
    response_model=Statement,
    responses=_ERR,
    summary="Your statement for a month (YYYY-MM)",
)
async def tenant_statement(
    month: str, principal: Reader, session: DbSession, platform: PlatformDep
) -> Statement:
    tenant = await get_tenant(session, principal.tenant_id)
    return await _statement(session, platform, tenant, month)


@router.get("/prices", response_model=PriceList, responses=_ERR, summary="Your tier's prices")
async def tenant_prices(principal: Reader, session: DbSession, platform: PlatformDep) -> PriceList:
    """Prices of your tier: those in force and those scheduled."""
    now = utcnow()
    rows = await PriceRepository(session).all()
    current = [p for p in rows if p.tier == principal.tier and (p.effective_to or now) >= now]
    return PriceList(
        currency=platform.settings.billing_currency, items=[_price(p) for p in current]
    )


# Operators


@admin_router.get(
    "/billing/prices", response_model=PriceList, responses=_ERR, summary="The price book"
)
async def list_prices(_op: Operator, session: DbSession, platform: PlatformDep) -> PriceList:
    rows = await PriceRepository(session).all()
    return PriceList(currency=platform.settings.billing_currency, items=[_price(p) for p in rows])


@admin_router.post(
    "/billing/prices",
    status_code=201,
    response_model=PriceOut,
    responses=_ERR,
    summary="Schedule a price change",
)
async def create_price(
    body: PriceCreate, principal: Operator, session: DbSession, platform: PlatformDep
) -> PriceOut:
    """From `effective_from` on (at least `price_change_lead_s` ahead: never retroactive);
    the price in force before it ends there. Usage keeps the price it was recorded with."""
    price, previous = await service.set_price(session, platform.settings, body, principal.actor)
    await _audit(
        platform,
        session,
        principal,
        "billing.price_set",
        None,
        price_id=price.id,
        tier=price.tier,
        kind=price.kind,
        model=price.model,
        unit_price=str(price.unit_price),
        effective_from=price.effective_from.isoformat(),
        replaces=previous.id if previous else None,
    )
    out = _price(price)
    await session.commit()
    await platform.prices.refresh()
    return out


@admin_router.get(
    "/billing/statements/{month}",
    response_model=StatementList,
    responses=_ERR,
    summary="Every tenant's statement for a month",
)
async def all_statements(
    month: str, _op: Operator, session: DbSession, platform: PlatformDep
) -> StatementList:
    when = Month.parse(month).started()
    tenants = sorted(await TenantRepository(session).list(), key=lambda t: t.slug)
    items = await service.build_statements(
        session, tenants, when, platform.settings.billing_currency
    )
    return StatementList(month=str(when), items=items)


@admin_router.get(
    "/tenants/{tenant_id}/billing/statements/{month}",
    response_model=Statement,
    responses=_ERR,
    summary="A tenant's statement for a month",
)
async def tenant_statement_admin(
    tenant_id: str, month: str, _op: Operator, session: DbSession, platform: PlatformDep
) -> Statement:
    return await _statement(session, platform, await get_tenant(session, tenant_id), month)


@admin_router.get(
    "/tenants/{tenant_id}/billing/budget",
    response_model=BudgetOut,
    responses=_ERR,
    summary="A tenant's monthly budget",
)
async def get_budget_admin(
    tenant_id: str, _op: Operator, session: DbSession, platform: PlatformDep
) -> BudgetOut:
    await get_tenant(session, tenant_id)
    return await _budget_out(session, platform, tenant_id)


@admin_router.put(
    "/tenants/{tenant_id}/billing/budget",
    response_model=BudgetOut,
    responses=_ERR,
    summary="Set a tenant's monthly budget and ceiling",
)
async def set_budget_admin(
    tenant_id: str,
    body: OperatorBudgetSet,
    principal: Operator,
    session: DbSession,
    platform: PlatformDep,
    request: Request,
) -> BudgetOut:
    await get_tenant(session, tenant_id)
    limit, ceiling = _limit(body.monthly_limit), _limit(body.ceiling)
    await service.set_budget(
        session, tenant_id, limit=limit, ceiling=ceiling, actor=principal.actor, operator=True
    )
    await _audit(
        platform,
        session,
        principal,
        "billing.budget_set",
        tenant_id,
        limit=str(limit),
        ceiling=str(ceiling),
    )
    out = await _budget_out(session, platform, tenant_id)
    await session.commit()
    _budgets(request).forget(tenant_id)
    return out


@admin_router.post(
    "/tenants/{tenant_id}/billing/reinstate",
    response_model=BudgetOut,
    responses=_ERR,
    summary="Lift the budget's refusal for the rest of this month",
)
async def reinstate(
    tenant_id: str,
    body: Reinstate,
    principal: Operator,
    session: DbSession,
    platform: PlatformDep,
    request: Request,
) -> BudgetOut:
    await get_tenant(session, tenant_id)
    if not body.reason.strip():
        raise service.ReasonRequired("Say why the tenant is reinstated; it is audited.")
    await service.reinstate(session, tenant_id, principal.actor)
    await _audit(
        platform, session, principal, "billing.reinstate", tenant_id, reason=body.reason.strip()
    )
    out = await _budget_out(session, platform, tenant_id)
    await session.commit()
    _budgets(request).forget(tenant_id)
    return out


@admin_router.post(
    "/tenants/{tenant_id}/billing/adjustments",
    status_code=201,
    response_model=AdjustmentOut,
    responses=_ERR,
    summary="Credit (negative) or charge (positive) a tenant's month",
)
async def add_adjustment(
    tenant_id: str,
    body: AdjustmentCreate,
    principal: Operator,
    session: DbSession,
    platform: PlatformDep,
) -> AdjustmentOut:
    await get_tenant(session, tenant_id)
    row = await service.add_adjustment(
        session,
        tenant_id,
        month=body.month,
        amount=body.amount,
        reason=body.reason,
        actor=principal.actor,
    )
    await _audit(
        platform,
        session,
        principal,
        "billing.adjustment",
        tenant_id,
        adjustment_id=row.id,
        month=row.month,
        amount=str(row.amount),
        reason=row.reason,
    )
    return service.adjustment_out(row)


@admin_router.get(
    "/tenants/{tenant_id}/billing/adjustments",
    response_model=list[AdjustmentOut],
    responses=_ERR,
    summary="A tenant's adjustments for a month",
)
async def list_adjustments(
    tenant_id: str,
    _op: Operator,
    session: DbSession,
    month: Annotated[str, Query(description="YYYY-MM")],
) -> list[AdjustmentOut]:
    await get_tenant(session, tenant_id)
    rows = await AdjustmentRepository(session, tenant_id).for_month(str(Month.parse(month)))
    return [service.adjustment_out(a) for a in rows]

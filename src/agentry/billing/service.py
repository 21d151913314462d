"""Billing logic: price changes, budgets, adjustments and statements. Every change is audited
by the endpoint in the same transaction.

Rounding: every usage event's cost is unit price x quantity, exact to 9 decimals (the unit
prices' precision). Statement lines and totals are exact sums of those; only `total_due` is
rounded, to cents, half up. So the statements of a month sum exactly to its usage events.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from agentry.billing.months import Month
from agentry.billing.prices import EPOCH, USAGE_KINDS
from agentry.billing.repository import (
    NANO,
    AdjustmentRepository,
    BudgetRepository,
    PlatformStatementRepository,
    PriceRepository,
    StatementRepository,
)
from agentry.billing.schemas import (
    AdjustmentOut,
    DailySpend,
    PriceCreate,
    Statement,
    StatementLine,
)
from agentry.config import Settings
from agentry.kit.clock import utcnow
from agentry.kit.errors import Conflict, NotFound, ValidationFailed
from agentry.kit.ids import new_id
from agentry.models import BillingAdjustment, Price, Tenant, TenantBudget
from agentry.models.tenant import Tier

CENT = Decimal("0.01")
ROUNDING = "exact to 9 decimals; total_due rounded to cents, half up"
MAX_AMOUNT = Decimal("1e9")


class InvalidPrice(ValidationFailed):
    code = "invalid_price"
    title = "A price is a non-negative decimal with at most 9 decimals"


class InvalidAmount(ValidationFailed):
    code = "invalid_amount"
    title = "An amount is a decimal with at most 9 decimals"


class UnknownTier(ValidationFailed):
    code = "unknown_tier"
    title = "No such tier"


class UnknownUsageKind(ValidationFailed):
    code = "unknown_usage_kind"
    title = "No such usage kind"


class PriceRetroactive(ValidationFailed):
    code = "price_retroactive"
    title = "A price change cannot take effect in the past"


class PriceOverlap(Conflict):
    code = "price_overlap"
    title = "A price for this tier, kind and model already takes effect at or after that time"


class BudgetAboveCeiling(ValidationFailed):
    code = "budget_above_ceiling"
    title = "The budget is above the ceiling the operator set"


class NoBudget(NotFound):
    code = "budget_not_found"
    title = "The tenant has no monthly budget"


class ReasonRequired(ValidationFailed):
    code = "reason_required"
    title = "Say why: an adjustment is shown on the tenant's statement with its reason"


def parse_amount(
    text: str | None, *, negative: bool, error: type[ValidationFailed] = InvalidAmount
) -> Decimal:
    try:
        value = Decimal(str(text).strip())
    except (InvalidOperation, ValueError):
        raise error(f"'{text}' is not a decimal number.") from None
    if not value.is_finite():
        raise error(f"'{text}' is not a finite number.")
    if value != value.quantize(NANO, rounding=ROUND_HALF_UP):
        raise error(f"'{text}' has more than 9 decimals.")
    if value < 0 and not negative:
        raise error(f"'{text}' is negative.")
    if abs(value) >= MAX_AMOUNT:
        raise error(f"'{text}' is too large.")
    return value.quantize(NANO)


# The price book


async def seed_prices(session: AsyncSession, settings: Settings) -> bool:
    """First start: the settings' table becomes the book, in force since the epoch."""
    repo = PriceRepository(session)
    if await repo.any():
        return False
    for tier, kinds in settings.price_book.items():
        for kind, amount in kinds.items():
            session.add(
                Price(
                    id=new_id("prc"),
                    currency=settings.billing_currency,
                    tier=tier,
                    kind=kind,
                    model="",
                    unit_price=Decimal(amount),
                    effective_from=EPOCH,
                    created_by="settings",
                )
            )
    try:
        await session.flush()
    except IntegrityError:  # another replica seeded it first
        await session.rollback()
        return False
    return True


async def set_price(
    session: AsyncSession, settings: Settings, body: PriceCreate, actor: str
) -> tuple[Price, Price | None]:
    """A new price from `effective_from` on; the one in force before it ends there."""
    if body.tier not in {t.value for t in Tier}:
        raise UnknownTier(f"'{body.tier}' is not a tier: basic, standard or premium.")
    if body.kind not in USAGE_KINDS:
        raise UnknownUsageKind(f"'{body.kind}' is not one of {', '.join(USAGE_KINDS)}.")
    amount = parse_amount(body.unit_price, negative=False, error=InvalidPrice)
    start = body.effective_from
    if start.tzinfo is None:
        raise ValidationFailed("effective_from needs a time zone, e.g. 2026-12-01T00:00:00Z")
    earliest = utcnow() + timedelta(seconds=settings.price_change_lead_s)
    if start < earliest:
        raise PriceRetroactive(
            f"effective_from must be at or after {earliest.isoformat(timespec='seconds')} "
            f"(now + {settings.price_change_lead_s:g} s): prices are never retroactive."
        )
    repo = PriceRepository(session)
    previous = await repo.latest(body.tier, body.kind, body.model)
    if previous is not None and previous.effective_from >= start:
        raise PriceOverlap(
            f"A {body.tier} {body.kind} price already takes effect at "
            f"{previous.effective_from.isoformat()}; a new one must start after it."
        )
    if previous is not None and (previous.effective_to is None or previous.effective_to > start):
        previous.effective_to = start
    price = Price(
        id=new_id("prc"),
        currency=settings.billing_currency,
        tier=body.tier,
        kind=body.kind,
        model=body.model,
        unit_price=amount,
        effective_from=start,
        created_by=actor,
    )
    await repo.add(price)
    return price, previous


# Budgets


async def budget_row(session: AsyncSession, tenant_id: str) -> TenantBudget | None:
    return await BudgetRepository(session, tenant_id).find()


async def set_budget(
    session: AsyncSession,
    tenant_id: str,
    *,
    limit: Decimal | None,
    actor: str,
    ceiling: Decimal | None = None,
    operator: bool,
) -> TenantBudget:
    """A budget below what is spent already is allowed: it refuses new work at once."""
    repo = BudgetRepository(session, tenant_id)
    row = await repo.find()
    if row is None:
        row = TenantBudget(tenant_id=tenant_id, updated_by=actor)
        session.add(row)
    if operator:
        row.ceiling = ceiling
    bound = row.ceiling
    if bound is not None and (limit is None or limit > bound):
        raise BudgetAboveCeiling(
            f"The monthly budget may be at most {bound.normalize():f}"
            + ("" if operator else "; ask the operator to raise the ceiling.")
        )
    if limit != row.monthly_limit:
        # A new limit: the 80% and 100% events may fire again against it.
        row.warned_month = row.exhausted_month = None
    row.monthly_limit = limit
    row.reinstated_month = None  # any budget change ends a reinstatement
    row.updated_by = actor
    row.updated_at = utcnow()
    await session.flush()
    return row


async def reinstate(session: AsyncSession, tenant_id: str, actor: str) -> TenantBudget:
    row = await BudgetRepository(session, tenant_id).find()
    if row is None or row.monthly_limit is None:
        raise NoBudget("The tenant has no monthly budget to reinstate it from.")
    row.reinstated_month = str(Month.current())
    row.updated_by = actor
    row.updated_at = utcnow()
    await session.flush()
    return row


def budget_status(row: TenantBudget | None, spent: Decimal, month: Month, ratio: Decimal) -> str:
    if row is None or row.monthly_limit is None:
        return "none"
    if row.reinstated_month == str(month):
        return "reinstated"
    if spent >= row.monthly_limit:
        return "exhausted"
    if spent >= row.monthly_limit * ratio:
        return "warning"
    return "ok"


# Adjustments


async def add_adjustment(
    session: AsyncSession, tenant_id: str, *, month: str, amount: str, reason: str, actor: str
) -> BillingAdjustment:
    when = Month.parse(month).started()
    value = parse_amount(amount, negative=True)
    if value == 0:
        raise InvalidAmount("An adjustment of 0 changes nothing.")
    if not reason.strip():
        raise ReasonRequired("An adjustment needs a reason; it is shown on the statement.")
    row = BillingAdjustment(
        id=new_id("adj"),
        tenant_id=tenant_id,
        month=str(when),
        amount=value,
        reason=reason.strip(),
        created_by=actor,
    )
    return await AdjustmentRepository(session, tenant_id).add(row)


def adjustment_out(a: BillingAdjustment) -> AdjustmentOut:
    return AdjustmentOut(
        id=a.id,
        month=a.month,
        amount=Decimal(a.amount).quantize(NANO),
        reason=a.reason,
        created_by=a.created_by,
        created_at=a.created_at,
    )


# Statements


async def month_spend(session: AsyncSession, tenant_id: str, month: Month) -> Decimal:
    return await StatementRepository(session, tenant_id).spent(month.start, month.end)


async def build_statement(
    session: AsyncSession, tenant: Tenant, month: Month, currency: str
) -> Statement:
    """Deterministic: the same usage and adjustments give the same statement, byte for byte."""
    usage = StatementRepository(session, tenant.id)
    rows = await usage.month(month.start, month.end)
    names = await usage.agent_names(r.agent_id for r in rows)
    adjustments = await AdjustmentRepository(session, tenant.id).for_month(str(month))
    return _statement(tenant, month, currency, rows, names, adjustments, usage.money)


async def build_statements(
    session: AsyncSession, tenants: Sequence[Tenant], month: Month, currency: str
) -> list[Statement]:
    """Every tenant's statement from one pass over the month (the same as `build_statement`
    for each, which tests/billing/test_statements.py checks)."""
    usage = PlatformStatementRepository(session)
    rows = await usage.month(month.start, month.end)
    names = await usage.agent_names(r.agent_id for r in rows)
    by_tenant: dict[str, list[Any]] = {}
    for r in rows:
        by_tenant.setdefault(r.tenant_id, []).append(r)
    adjusted: dict[str, list[BillingAdjustment]] = {}
    for a in await usage.adjustments(str(month)):
        adjusted.setdefault(a.tenant_id, []).append(a)
    return [
        _statement(
            t,
            month,
            currency,
            by_tenant.get(t.id, []),
            names,
            adjusted.get(t.id, []),
            usage.money,
        )
        for t in tenants
    ]


def _statement(
    tenant: Tenant,
    month: Month,
    currency: str,
    rows: Sequence[Any],
    names: dict[str, str],
    adjusted: Sequence[BillingAdjustment],
    money: Callable[[Any], Decimal],
) -> Statement:
    folded: dict[tuple[str, str, str, Decimal], list[Any]] = {}
    by_day: dict[str, Decimal] = {}
    for r in rows:
        amount = money(r.amount)
        key = (r.agent_id, r.model, r.kind, Decimal(r.unit_price).quantize(NANO))
        line = folded.setdefault(key, [0, 0, Decimal(0)])
        line[0] += int(r.events)
        line[1] += int(r.quantity)
        line[2] += amount
        by_day[str(r.day)] = by_day.get(str(r.day), Decimal(0)) + amount
    lines = sorted(
        (
            StatementLine(
                agent_id=agent_id,
                agent=names.get(agent_id, agent_id),
                model=model,
                kind=kind,
                unit_price=unit_price,
                events=events,
                quantity=quantity,
                amount=amount,
            )
            for (agent_id, model, kind, unit_price), (events, quantity, amount) in folded.items()
        ),
        key=lambda x: (x.agent, x.agent_id, x.model, x.kind, x.unit_price),
    )
    zero = Decimal(0).quantize(NANO)
    daily = [
        DailySpend(day=d, amount=by_day.get(str(d), zero).quantize(NANO)) for d in month.days()
    ]
    adjustments = [adjustment_out(a) for a in adjusted]
    usage_total = _sum(line.amount for line in lines)
    adjustments_total = _sum(a.amount for a in adjustments)
    total = usage_total + adjustments_total
    return Statement(
        tenant_id=tenant.id,
        tenant_slug=tenant.slug,
        month=str(month),
        currency=currency,
        period_start=month.start,
        period_end=month.end,
        final=month < Month.current(),
        lines=lines,
        adjustments=adjustments,
        usage_total=usage_total,
        adjustments_total=adjustments_total,
        total=total,
        total_due=total.quantize(CENT, rounding=ROUND_HALF_UP),
        rounding=ROUNDING,
        daily=daily,
    )


def _sum(values: Iterable[Decimal]) -> Decimal:
    return sum(values, Decimal(0)).quantize(NANO)

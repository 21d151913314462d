"""Billing SQL: the price book (platform-owned), budgets and adjustments (tenant-owned), and
the month's aggregation of usage, which reads the (tenant_id, at) index range and groups in
the database: a statement never loads usage rows into Python."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Row, cast, func, literal_column, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from agentry.kit.repository import RepositoryBase, TenantScopedRepository
from agentry.models import Agent, BillingAdjustment, Price, TenantBudget, UsageEvent


class PriceRepository(RepositoryBase[Price]):
    model = Price

    async def all(self) -> Sequence[Price]:
        stmt = select(Price).order_by(Price.tier, Price.kind, Price.model, Price.effective_from)
        return (await self.session.execute(stmt)).scalars().all()

    async def latest(self, tier: str, kind: str, model: str) -> Price | None:
        stmt = (
            select(Price)
            .where(Price.tier == tier, Price.kind == kind, Price.model == model)
            .order_by(Price.effective_from.desc())
            .limit(1)
            .with_for_update()
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def any(self) -> bool:
        return (await self.session.execute(select(Price.id).limit(1))).first() is not None


class BudgetRepository(TenantScopedRepository[TenantBudget]):
    model = TenantBudget

    async def find(self) -> TenantBudget | None:
        return (await self.session.execute(self.scoped())).scalar_one_or_none()

    async def mark(self, column: str, month: str) -> bool:
        """Set `warned_month` or `exhausted_month` to `month` unless it is already: True
        for the one caller (of any replica) that made the change, so an event fires once."""
        field = getattr(TenantBudget, column)
        stmt = (
            update(TenantBudget)
            .where(TenantBudget.tenant_id == self.tenant_id)
            .where((field.is_(None)) | (field != month))
            .values({column: month})
        )
        result = await self.session.execute(stmt)
        return bool(getattr(result, "rowcount", 0))


async def budgeted_tenants(session: AsyncSession) -> list[str]:
    """Ids of the tenants with a monthly budget (the platform's sweep, across tenants)."""
    stmt = select(TenantBudget.tenant_id)  # scoping: exempt (platform sweep of budget rows)
    stmt = stmt.where(TenantBudget.monthly_limit.is_not(None))
    return list((await session.execute(stmt)).scalars())


class AdjustmentRepository(TenantScopedRepository[BillingAdjustment]):
    model = BillingAdjustment

    async def for_month(self, month: str) -> Sequence[BillingAdjustment]:
        stmt = self.scoped().where(BillingAdjustment.month == month)
        stmt = stmt.order_by(BillingAdjustment.created_at, BillingAdjustment.id)
        return (await self.session.execute(stmt)).scalars().all()


NANO = Decimal("1e-9")


class _MonthSums:
    """Money sums are exact on both databases: PostgreSQL's numeric is exact; SQLite keeps
    NUMERIC as a double, so there each cost is summed as whole nano-units (costs carry 9
    decimals; a double holds them exactly up to about 9 million per event)."""

    session: AsyncSession

    @property
    def _sqlite(self) -> bool:
        return self.session.bind is not None and self.session.bind.dialect.name == "sqlite"

    def _sum(self, column: Any) -> Any:
        if self._sqlite:
            return func.sum(cast(func.round(column * 1_000_000_000), BigInteger))
        return func.sum(column)

    def money(self, value: Any) -> Decimal:
        if value is None:
            return Decimal(0).quantize(NANO)
        if self._sqlite:
            return (Decimal(int(value)) * NANO).quantize(NANO)
        return Decimal(value).quantize(NANO)

    def _day(self) -> Any:
        if self._sqlite:
            return func.date(UsageEvent.at)  # stored as UTC text
        return func.date(func.timezone("UTC", UsageEvent.at))

    def _grouped(self, *extra: Any) -> tuple[Any, ...]:
        model = func.coalesce(UsageEvent.model, literal_column("''"))
        day = self._day()
        keys = (*extra, UsageEvent.agent_id, model, UsageEvent.kind, UsageEvent.unit_price, day)
        columns = (
            *extra,
            UsageEvent.agent_id,
            model.label("model"),
            UsageEvent.kind,
            UsageEvent.unit_price,
            day.label("day"),
            func.count().label("events"),
            func.sum(UsageEvent.quantity).label("quantity"),
            self._sum(UsageEvent.cost).label("amount"),
        )
        return keys, columns

    async def agent_names(self, agent_ids: Iterable[str]) -> dict[str, str]:
        wanted = sorted(set(agent_ids))
        if not wanted:
            return {}
        rows = await self.session.execute(select(Agent.id, Agent.name).where(Agent.id.in_(wanted)))
        return {str(agent_id): str(name) for agent_id, name in rows.all()}


class PlatformStatementRepository(_MonthSums):
    """The monthly run: every tenant's month in one pass over the month's rows (on PostgreSQL
    a BRIN index on `at` finds them), instead of one index range per tenant, whose rows are
    spread over every page of the month."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def month(self, start: datetime, end: datetime) -> Sequence[Row[Any]]:
        keys, columns = self._grouped(UsageEvent.tenant_id)
        stmt = (
            select(*columns)  # scoping: exempt (the operator's monthly run over every tenant)
            .where(UsageEvent.at >= start, UsageEvent.at < end)
            .group_by(*keys)
        )
        return (await self.session.execute(stmt)).all()

    async def adjustments(self, month: str) -> Sequence[BillingAdjustment]:
        stmt = select(BillingAdjustment)  # scoping: exempt (the operator's monthly run)
        stmt = stmt.where(BillingAdjustment.month == month)
        stmt = stmt.order_by(BillingAdjustment.created_at, BillingAdjustment.id)
        return (await self.session.execute(stmt)).scalars().all()


class StatementRepository(_MonthSums, TenantScopedRepository[UsageEvent]):
    """One tenant's month: the (tenant_id, at) index range."""

    model = UsageEvent

    def _month(self, start: datetime, end: datetime) -> Any:
        return UsageEvent.tenant_id == self.tenant_id, UsageEvent.at >= start, UsageEvent.at < end

    async def month(self, start: datetime, end: datetime) -> Sequence[Row[Any]]:
        """One row per (agent, model, kind, unit price, day): a statement's lines and its daily
        spend both fold from these, so the month's index range is read once."""
        return (await self.session.execute(self.month_query(start, end))).all()

    def month_query(self, start: datetime, end: datetime) -> Any:
        keys, columns = self._grouped()
        return select(*columns).where(*self._month(start, end)).group_by(*keys)

    async def spent(self, start: datetime, end: datetime) -> Decimal:
        stmt = select(self._sum(UsageEvent.cost)).where(*self._month(start, end))
        return self.money((await self.session.execute(stmt)).scalar_one())

"""Monthly budgets, enforced at admission (invoke, stream, job): 402 `budget_exhausted`.

Month-to-date spend is summed from the usage table (the billed record) over the tenant's
(tenant_id, at) index range, and trusted for `budget_cache_s`; tenants without a budget cost
one primary-key read per window. Work admitted before the limit is reached runs to its end
and is metered, so a month can close slightly over budget: by what was running, plus at most
one cache window of admissions on each replica (docs/api-billing.md).

Crossing 80% sends `budget.warning`, 100% `budget.exhausted`: once a month each, to the
tenant's webhook endpoints, with an audit row. The mark is a conditional UPDATE, so of all
replicas exactly one sends it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agentry.audit.service import AuditLog
from agentry.billing.months import Month
from agentry.billing.repository import BudgetRepository, budgeted_tenants
from agentry.billing.service import budget_status, month_spend
from agentry.kit.clock import monotonic
from agentry.kit.db.engine import session_scope
from agentry.kit.errors import AgentryError
from agentry.kit.logging import get_logger
from agentry.metering.budgets import DENIALS as BUDGET_DENIALS
from agentry.models import TenantBudget
from agentry.webhooks.service import enqueue_tenant_event

log = get_logger("agentry.billing.budgets")
WARN_RATIO = Decimal("0.8")


class BudgetExhausted(AgentryError):
    status_code = 402
    code = "budget_exhausted"
    title = "The tenant's monthly budget is used up"


@dataclass(frozen=True, slots=True)
class _Known:
    month: Month
    limit: Decimal | None
    spent: Decimal
    status: str
    loaded_at: float


class MonthlyBudgets:
    def __init__(
        self,
        maker: async_sessionmaker[AsyncSession],
        audit: AuditLog,
        *,
        currency: str,
        ttl_s: float = 5.0,
    ) -> None:
        self._maker = maker
        self._audit = audit
        self._currency = currency
        self._ttl_s = ttl_s
        self._known: dict[str, _Known] = {}
        self._loading: dict[str, asyncio.Future[_Known]] = {}

    async def check(self, tenant_id: str) -> None:
        known = self._known.get(tenant_id)
        month = Month.current()
        if known is None or known.month != month or monotonic() - known.loaded_at > self._ttl_s:
            # One load per tenant at a time (many requests miss together when it expires).
            loading = self._loading.get(tenant_id)
            if loading is None:
                loading = asyncio.ensure_future(self.load(tenant_id, month))
                self._loading[tenant_id] = loading
                loading.add_done_callback(lambda _f: self._loading.pop(tenant_id, None))
            known = await asyncio.shield(loading)
        if known.status == "exhausted":
            BUDGET_DENIALS.labels(tenant_id, "monthly").inc()
            raise BudgetExhausted(
                f"This month's budget of {known.limit:f} {self._currency} is used up "
                f"({known.spent:f} spent). Running work finishes; new work starts again next "
                "month or when the budget is raised.",
                extra={"month": str(month), "limit": str(known.limit), "spent": str(known.spent)},
            )

    def forget(self, tenant_id: str) -> None:
        """After a change to the tenant's budget in this process."""
        self._known.pop(tenant_id, None)

    async def load(self, tenant_id: str, month: Month) -> _Known:
        async with session_scope(self._maker) as session:
            row = await BudgetRepository(session, tenant_id).find()
            spent = Decimal(0)
            if row is not None and row.monthly_limit is not None:
                spent = await month_spend(session, tenant_id, month)
                await self._signal(session, row, spent, month)
            status = budget_status(row, spent, month, WARN_RATIO)
        known = _Known(month, row.monthly_limit if row else None, spent, status, monotonic())
        self._known[tenant_id] = known
        return known

    async def sweep(self) -> int:
        """Every tenant with a budget: the events fire even when no new work arrives."""
        async with self._maker() as session:
            tenants = await budgeted_tenants(session)
        month = Month.current()
        for tenant_id in tenants:
            await self.load(tenant_id, month)
        return len(tenants)

    async def _signal(
        self, session: AsyncSession, row: TenantBudget, spent: Decimal, month: Month
    ) -> None:
        assert row.monthly_limit is not None
        repo = BudgetRepository(session, row.tenant_id)
        for ratio, column, event in (
            (WARN_RATIO, "warned_month", "budget.warning"),
            (Decimal(1), "exhausted_month", "budget.exhausted"),
        ):
            if spent < row.monthly_limit * ratio or getattr(row, column) == str(month):
                continue
            if not await repo.mark(column, str(month)):
                continue  # another replica (or request) signalled it
            data = {
                "tenant_id": row.tenant_id,
                "month": str(month),
                "currency": self._currency,
                "monthly_limit": str(row.monthly_limit),
                "spent": str(spent),
                "threshold": f"{ratio * 100:.0f}%",
            }
            await enqueue_tenant_event(session, row.tenant_id, event, data)
            await self._audit.append(
                session,
                actor="platform:billing",
                action=event,
                actor_tenant_id=row.tenant_id,
                target_tenant_id=row.tenant_id,
                details=data,
            )
            log.info("billing.budget_signal", tenant=row.tenant_id, signal=event)

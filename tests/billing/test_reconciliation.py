"""Reconciliation, as a property: over random usage, random price changes and month
boundaries, each month's statements sum exactly to the priced usage events (every event
priced by the book at its own timestamp), and a retried event is billed once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agentry.billing.months import Month
from agentry.billing.prices import EPOCH, PriceBook, PriceEntry
from agentry.billing.service import build_statement
from agentry.kit.db.engine import create_engine, create_sessionmaker, session_scope
from agentry.models import Tenant, UsageEvent
from agentry.tenants.repository import TenantRepository
from agentry.tenants.service import create_tenant
from tests.billing.helpers import record

START = datetime(2026, 10, 1, tzinfo=UTC)
MONTHS = [Month(2026, 10), Month(2026, 11), Month(2026, 12)]
SPAN_S = int((MONTHS[-1].end - START).total_seconds())
KINDS = ("input_tokens", "tool_call")
Event = tuple[int, str, int, datetime, int]  # tenant, kind, quantity, at, key
Change = tuple[str, datetime, Decimal]  # kind, from, unit price

# Instants near month boundaries are drawn far more often than a uniform draw would.
boundary = st.sampled_from([m.start for m in MONTHS[1:]] + [MONTHS[-1].end]).flatmap(
    lambda b: st.integers(-2_000_000, 2_000_000).map(lambda us: b + timedelta(microseconds=us))
)
instant = st.one_of(
    st.integers(0, SPAN_S - 1).map(lambda s: START + timedelta(seconds=s)), boundary
)
instant = instant.filter(lambda t: START <= t < MONTHS[-1].end)
price = st.decimals(min_value=0, max_value=Decimal("0.5"), places=9, allow_nan=False)
changes = st.lists(st.tuples(st.sampled_from(KINDS), instant, price), max_size=6)
events = st.lists(
    st.tuples(
        st.integers(0, 2),  # tenant
        st.sampled_from(KINDS),
        st.integers(0, 2_000_000),  # quantity
        instant,
        st.integers(0, 25),  # idempotency key: repeats are retries of one event
    ),
    min_size=1,
    max_size=40,
)


def _book(drawn: list[Change]) -> PriceBook:
    entries = []
    for kind in KINDS:
        starts = sorted({at for k, at, _ in drawn if k == kind})
        prices = {at: p for k, at, p in drawn if k == kind}
        bounds = [EPOCH, *starts]
        for i, begin in enumerate(bounds):
            end = bounds[i + 1] if i + 1 < len(bounds) else None
            amount = Decimal("0.000001") if i == 0 else prices[begin]
            entries.append(PriceEntry(f"p_{kind}_{i}", "basic", kind, "", amount, begin, end))
    return PriceBook(entries)


async def _tenants(maker: async_sessionmaker[AsyncSession]) -> list[Tenant]:
    async with session_scope(maker) as s:
        repo = TenantRepository(s)
        found = {t.slug: t for t in await repo.list()}
        out = []
        for slug in ("t0", "t1", "t2"):
            tenant = found.get(slug) or await create_tenant(
                s, slug=slug, display_name=slug, tier="basic"
            )
            out.append(tenant)
        return out


async def _check(url: str, drawn: list[Change], evs: list[Event]) -> None:
    engine = create_engine(url)
    maker = create_sessionmaker(engine)
    try:
        tenants = await _tenants(maker)
        async with session_scope(maker) as s:
            await s.execute(delete(UsageEvent))
        book = _book(drawn)
        expected: dict[tuple[str, str], Decimal] = {}
        first: dict[str, tuple[int, str, int, datetime]] = {}
        for t, kind, qty, at, k in evs:
            key = f"k{k}"
            tenant = tenants[t]
            new = await record(
                maker,
                book,
                tenant_id=tenant.id,
                tier="basic",
                key=key,
                kind=kind,
                quantity=qty,
                at=at,
            )
            assert new == (key not in first)  # a retry records nothing
            if new:
                first[key] = (t, kind, qty, at)
                cost = book.price("basic", kind, at=at).amount * qty
                slot = (tenant.id, str(Month.of(at)))
                expected[slot] = expected.get(slot, Decimal(0)) + cost
        grand = Decimal(0)
        async with maker() as s:
            for month in MONTHS:
                for tenant in tenants:
                    st_ = await build_statement(s, tenant, month, "USD")
                    want = expected.get((tenant.id, str(month)), Decimal(0))
                    assert st_.usage_total == want, (tenant.slug, str(month))
                    assert sum((x.amount for x in st_.lines), Decimal(0)) == st_.usage_total
                    assert sum((d.amount for d in st_.daily), Decimal(0)) == st_.usage_total
                    assert sum(x.events for x in st_.lines) == sum(
                        1
                        for t, _, _, at in first.values()
                        if tenants[t].id == tenant.id and Month.of(at) == month
                    )
                    grand += st_.usage_total
        assert grand == sum(expected.values(), Decimal(0))
    finally:
        await engine.dispose()


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(drawn=changes, evs=events)
def test_statements_sum_exactly_to_priced_usage(
    database_url: str,
    drawn: list[tuple[str, datetime, Decimal]],
    evs: list,  # type: ignore[type-arg]
) -> None:
    asyncio.run(_check(database_url, drawn, evs))

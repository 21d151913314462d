"""The price book: unit prices per tier, usage kind and (optionally) model, with effective dates.

Every usage event is priced when it is recorded, by the price in force at its timestamp, and
stores that price and the book row it came from. Prices are never retroactive (a change takes
effect at or after `price_change_lead_s` from now), so a statement re-run later prices nothing
differently. Each process keeps the whole book (a few hundred rows at most) in memory, future
rows included, and reloads it every few seconds: a change scheduled ahead of the reload
interval is applied from its first instant on every replica.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agentry.kit.clock import utcnow
from agentry.metering.service import FREE, Price

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
USAGE_KINDS = ("input_tokens", "output_tokens", "tool_call", "runtime_ms")


@dataclass(frozen=True, slots=True)
class PriceEntry:
    id: str
    tier: str
    kind: str
    model: str  # "" = any model
    unit_price: Decimal
    effective_from: datetime
    effective_to: datetime | None


class PriceBook:
    """An immutable snapshot of the book; `price()` is a dict lookup and a bisect."""

    def __init__(self, entries: Iterable[PriceEntry], currency: str = "USD") -> None:
        self.currency = currency
        self.entries = sorted(entries, key=lambda e: (e.tier, e.kind, e.model, e.effective_from))
        self._by_key: dict[tuple[str, str, str], list[PriceEntry]] = {}
        for entry in self.entries:
            self._by_key.setdefault((entry.tier, entry.kind, entry.model), []).append(entry)
        self._starts = {key: [e.effective_from for e in rows] for key, rows in self._by_key.items()}

    @classmethod
    def from_mapping(
        cls, prices: Mapping[str, Mapping[str, str]], currency: str = "USD"
    ) -> PriceBook:
        """The settings' tier -> kind -> price table, in force since the epoch (seed and tests)."""
        return cls(
            (
                PriceEntry(f"prc_seed_{tier}_{kind}", tier, kind, "", Decimal(p), EPOCH, None)
                for tier, kinds in prices.items()
                for kind, p in kinds.items()
            ),
            currency,
        )

    def _find(self, key: tuple[str, str, str], at: datetime) -> PriceEntry | None:
        starts = self._starts.get(key)
        if not starts:
            return None
        i = bisect.bisect_right(starts, at) - 1
        if i < 0:
            return None
        entry = self._by_key[key][i]
        if entry.effective_to is not None and at >= entry.effective_to:
            return None
        return entry

    def entry(
        self, tier: str, kind: str, *, model: str | None = None, at: datetime | None = None
    ) -> PriceEntry | None:
        at = at or utcnow()
        found = self._find((tier, kind, model), at) if model else None
        return found or self._find((tier, kind, ""), at)

    def price(
        self, tier: str, kind: str, *, model: str | None = None, at: datetime | None = None
    ) -> Price:
        entry = self.entry(tier, kind, model=model, at=at)
        return FREE if entry is None else Price(entry.unit_price, entry.id)

    def latest(self, tier: str, kind: str, model: str) -> PriceEntry | None:
        rows = self._by_key.get((tier, kind, model))
        return rows[-1] if rows else None


class PriceBookCache:
    """The book as this process last loaded it; `refresh()` reloads (periodically and after
    a change made here)."""

    def __init__(
        self, maker: async_sessionmaker[AsyncSession], currency: str, fallback: PriceBook
    ) -> None:
        self._maker = maker
        self.currency = currency
        self.book = fallback  # until the first load: the settings' table

    async def refresh(self) -> PriceBook:
        from agentry.billing.repository import PriceRepository

        async with self._maker() as session:
            rows = await PriceRepository(session).all()
        if rows:
            self.book = PriceBook(
                (
                    PriceEntry(
                        r.id,
                        r.tier,
                        r.kind,
                        r.model,
                        Decimal(r.unit_price),
                        r.effective_from,
                        r.effective_to,
                    )
                    for r in rows
                ),
                self.currency,
            )
        return self.book

    def price(
        self, tier: str, kind: str, *, model: str | None = None, at: datetime | None = None
    ) -> Price:
        return self.book.price(tier, kind, model=model, at=at)

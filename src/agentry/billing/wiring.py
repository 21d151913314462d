"""Billing's process-wide objects: the price book cache and the monthly budgets."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agentry.billing.prices import PriceBook, PriceBookCache
from agentry.billing.service import seed_prices
from agentry.config import Settings
from agentry.kit.db.engine import session_scope
from agentry.kit.periodic import Periodic


async def start_price_book(
    maker: async_sessionmaker[AsyncSession], settings: Settings
) -> tuple[PriceBookCache, Periodic]:
    """Seed the book on first start, load it, and reload it every `price_book_refresh_s`."""
    async with session_scope(maker) as session:
        await seed_prices(session, settings)
    fallback = PriceBook.from_mapping(settings.price_book, settings.billing_currency)
    cache = PriceBookCache(maker, settings.billing_currency, fallback)
    await cache.refresh()
    refresher = Periodic("price-book", settings.price_book_refresh_s, cache.refresh)
    refresher.start()
    return cache, refresher

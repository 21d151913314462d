"""Throttle failed authentication per source address (brute force on keys and tokens)."""

from __future__ import annotations

import math
import time

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string

from agentry.kit.errors import TooManyRequests


class AuthThrottled(TooManyRequests):
    code = "auth_throttled"
    title = "Too many failed authentications"


class AuthThrottle:
    def __init__(self, limit: str, redis_url: str = "") -> None:
        # Redis shares counters between API workers/replicas; memory is per process.
        storage: Storage = MemoryStorage()
        if redis_url:
            found = storage_from_string(f"async+{redis_url}", implementation="redispy")
            assert isinstance(found, Storage)
            storage = found
        self._item: RateLimitItem = parse(limit)
        self._limiter = MovingWindowRateLimiter(storage)
        self._shared = bool(redis_url)
        # Sources that failed here within the window. With in-memory counters, a source not in
        # this map cannot be over the limit, so the hot path skips the limiter (~14 µs).
        self._recent: dict[str, float] = {}

    async def check(self, source: str) -> None:
        """Refuse a source that already used up its failures, before any work is done."""
        if not self._shared:
            last = self._recent.get(source)
            if last is None:
                return
            if time.monotonic() - last > self._item.get_expiry():
                del self._recent[source]
                return
        if not await self._limiter.test(self._item, "authfail", source):
            stats = await self._limiter.get_window_stats(self._item, "authfail", source)
            retry = max(1, math.ceil(stats.reset_time - time.time()))
            raise AuthThrottled(
                "Too many failed authentications from this address.",
                headers={"Retry-After": str(retry)},
            )

    async def failed(self, source: str) -> None:
        if len(self._recent) > 100_000:  # bound memory under a spray from many addresses
            self._recent.clear()
        self._recent[source] = time.monotonic()
        await self._limiter.hit(self._item, "authfail", source)

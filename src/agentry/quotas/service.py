"""Quotas per tier, checked at admission.

- Rate: the `limits` library's sliding-window counter, keyed by tenant: O(1) per request
  (its moving window keeps one entry per request, O(n) to insert, too slow at premium
  rates). In process memory by default; in Redis when `AGENTRY_REDIS_URL` is set, so every
  API replica shares one window.
- Concurrency: leases, each with an expiry. In memory a per-tenant dict; in Redis a ZSET per
  tenant and pool (member = lease id, score = expiry), so slots held by a crashed API process
  free themselves when their lease expires (security.md §5). `limits` has no concurrency
  primitive, hence the small hand-written lease store.

Other callers (the async job dispatcher) use `try_acquire_slot(..., pool="jobs", limit=n)`
and queue instead of answering 429 when it returns None.
"""

from __future__ import annotations

import asyncio
import math
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Protocol

from limits import RateLimitItemPerMinute
from limits.aio.storage import MemoryStorage, Storage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.storage import storage_from_string

from agentry.config import Settings, TierQuota, default_quotas
from agentry.identity.principal import Principal
from agentry.kit.errors import PayloadTooLarge, TooManyRequests


class RateLimited(TooManyRequests):
    code = "rate_limited"
    title = "Request rate over the tier's limit"


class ConcurrencyLimited(TooManyRequests):
    code = "concurrency_limited"
    title = "Too many calls running at once for the tier"


class TierPayloadTooLarge(PayloadTooLarge):
    code = "payload_too_large"
    title = "Payload too large for the tier"


class BudgetCheck(Protocol):
    async def check(self, tenant_id: str) -> None: ...


@dataclass(frozen=True, slots=True)
class Slot:
    key: str
    lease_id: str


class _Leases(Protocol):
    async def acquire(self, key: str, lease_id: str, limit: int, ttl_s: float) -> bool: ...

    async def release(self, key: str, lease_id: str) -> None: ...

    async def count(self, key: str) -> int: ...

    async def aclose(self) -> None: ...


class MemoryLeases:
    """One process: per-key leases with expiry (a leaked lease still frees itself)."""

    def __init__(self) -> None:
        self._leases: dict[str, dict[str, float]] = {}

    def _live(self, key: str) -> dict[str, float]:
        leases = self._leases.setdefault(key, {})
        now = time.monotonic()
        for lease in [lease for lease, expiry in leases.items() if expiry <= now]:
            del leases[lease]
        return leases

    async def acquire(self, key: str, lease_id: str, limit: int, ttl_s: float) -> bool:
        leases = self._live(key)
        if len(leases) >= limit:
            return False
        leases[lease_id] = time.monotonic() + ttl_s
        return True

    async def release(self, key: str, lease_id: str) -> None:
        self.release_now(key, lease_id)

    def release_now(self, key: str, lease_id: str) -> None:
        leases = self._leases.get(key)
        if leases is not None:
            leases.pop(lease_id, None)
            if not leases:
                del self._leases[key]

    async def count(self, key: str) -> int:
        return len(self._live(key))

    async def aclose(self) -> None:
        self._leases.clear()


# Expire, count and add in one step, on Redis' clock (API replicas' clocks may differ).
_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then
  return 0
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', KEYS[1], math.ceil(tonumber(last[2]) * 1000) + 1000)
return 1
"""

_COUNT = """
local t = redis.call('TIME')
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', tonumber(t[1]) + tonumber(t[2]) / 1000000)
return redis.call('ZCARD', KEYS[1])
"""


class RedisLeases:
    """Leases shared by every API replica: a ZSET per key, member = lease id, score = expiry."""

    def __init__(self, url: str) -> None:
        import redis.asyncio as aioredis

        self._redis = aioredis.Redis.from_url(url)
        self._acquire = self._redis.register_script(_ACQUIRE)
        self._count = self._redis.register_script(_COUNT)

    async def acquire(self, key: str, lease_id: str, limit: int, ttl_s: float) -> bool:
        return bool(await self._acquire(keys=[key], args=[limit, ttl_s, lease_id]))

    async def release(self, key: str, lease_id: str) -> None:
        await self._redis.zrem(key, lease_id)

    async def count(self, key: str) -> int:
        return int(await self._count(keys=[key]))

    async def aclose(self) -> None:
        await self._redis.aclose()


class QuotaService:
    """Admission checks for one API process. Build once; `aclose()` at shutdown."""

    def __init__(self, settings: Settings) -> None:
        self.budgets: BudgetCheck | None = None  # billing's monthly budgets, when wired
        self._quotas = settings.quotas
        self._fallback = settings.quotas.get("basic") or default_quotas()["basic"]
        self._lease_margin_s = settings.quota_lease_margin_s
        self._storage: Storage
        self._leases: _Leases
        if settings.redis_url:
            storage = storage_from_string(f"async+{settings.redis_url}", implementation="redispy")
            assert isinstance(storage, Storage)
            self._storage = storage
            self._leases = RedisLeases(settings.redis_url)
            self._prefix = "agentry:slots"
        else:
            self._storage = MemoryStorage()
            self._leases = MemoryLeases()
            self._prefix = "slots"
        self._limiter = SlidingWindowCounterRateLimiter(self._storage)
        self._items = {
            tier: RateLimitItemPerMinute(q.requests_per_minute) for tier, q in self._quotas.items()
        }
        self._fallback_item = RateLimitItemPerMinute(self._fallback.requests_per_minute)

    @property
    def backend(self) -> str:
        return "redis" if isinstance(self._leases, RedisLeases) else "memory"

    def tier(self, tier: str) -> TierQuota:
        return self._quotas.get(tier) or self._fallback

    def check_payload(self, principal: Principal, size: int) -> None:
        limit = self.tier(principal.tier).max_payload_bytes
        if size > limit:
            raise TierPayloadTooLarge(
                f"The body is {size} bytes; the {principal.tier} tier accepts at most {limit}.",
                extra={"max_bytes": limit},
            )

    async def admit(self, principal: Principal, body_size: int) -> None:
        """The one admission check of every path that starts agent work (invoke, stream,
        jobs, and any later one): the tier's payload limit, the tenant's monthly budget, then
        one hit on its rate window."""
        self.check_payload(principal, body_size)
        if self.budgets is not None:
            await self.budgets.check(principal.tenant_id)
        await self.check_rate(principal)

    async def check_rate(self, principal: Principal) -> None:
        """Count one request against the tenant's window; 429 `rate_limited` when over it."""
        item = self._items.get(principal.tier, self._fallback_item)
        if await self._limiter.hit(item, "rate", principal.tenant_id):
            return
        stats = await self._limiter.get_window_stats(item, "rate", principal.tenant_id)
        retry_after = max(1, math.ceil(stats.reset_time - time.time()))
        raise RateLimited(
            f"Over {item.amount} requests per minute for the {principal.tier} tier.",
            headers={"Retry-After": str(retry_after)},
            extra={"retry_after_s": retry_after},
        )

    def _key(self, tenant_id: str, pool: str) -> str:
        return f"{self._prefix}:{pool}:{tenant_id}"

    async def try_acquire_slot(
        self, principal: Principal, *, ttl_s: float, pool: str = "calls", limit: int | None = None
    ) -> Slot | None:
        """A lease on one of the tenant's `limit` slots in `pool`, or None when all are taken.

        `ttl_s` is how long the holder may run; the lease expires `quota_lease_margin_s`
        after that even if `release` is never called.
        """
        cap = limit if limit is not None else self.tier(principal.tier).concurrent_calls
        slot = Slot(self._key(principal.tenant_id, pool), uuid.uuid4().hex)
        if await self._leases.acquire(slot.key, slot.lease_id, cap, ttl_s + self._lease_margin_s):
            return slot
        return None

    async def acquire_slot(
        self, principal: Principal, *, ttl_s: float, pool: str = "calls", limit: int | None = None
    ) -> Slot:
        """Like `try_acquire_slot`, but 429 `concurrency_limited` when all slots are taken."""
        slot = await self.try_acquire_slot(principal, ttl_s=ttl_s, pool=pool, limit=limit)
        if slot is None:
            cap = limit if limit is not None else self.tier(principal.tier).concurrent_calls
            raise ConcurrencyLimited(
                f"{cap} calls are already running for this tenant ({principal.tier} tier).",
                headers={"Retry-After": "1"},
                extra={"retry_after_s": 1},
            )
        return slot

    async def release(self, slot: Slot) -> None:
        if isinstance(self._leases, MemoryLeases):
            self._leases.release_now(slot.key, slot.lease_id)  # no await: cannot be cancelled
            return
        # A release must not be lost to the caller's cancellation (client disconnect).
        await asyncio.shield(self._leases.release(slot.key, slot.lease_id))

    async def in_use(self, tenant_id: str, pool: str = "calls") -> int:
        return await self._leases.count(self._key(tenant_id, pool))

    @asynccontextmanager
    async def slot(
        self, principal: Principal, *, ttl_s: float, pool: str = "calls"
    ) -> AsyncIterator[Slot]:
        held = await self.acquire_slot(principal, ttl_s=ttl_s, pool=pool)
        try:
            yield held
        finally:
            await self.release(held)

    async def aclose(self) -> None:
        await self._leases.aclose()

"""Throttle failed authentication by what is being guessed, and by source address.

Buckets per failure: the source address (behind trusted proxies only, see
`kit.addresses.client_address`) and the guessed target: an API key's display prefix, or an
access token's (unverified) issuer. A credential is always verified first, so a valid one is
never locked out, whoever else failed from the same address or against the same tenant. A
failure while any of its buckets is over the limit answers 429 instead of 401 and is not
audited one by one (the audit log is the costly part of a failure: one locked, chained append).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

import jwt
from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string

from agentry.api_keys.keys import display_prefix
from agentry.kit.errors import TooManyRequests

_MAX_LABEL = 200


class AuthThrottled(TooManyRequests):
    code = "auth_throttled"
    title = "Too many failed authentications"


def buckets(source: str, credential: str, *, is_key: bool) -> list[str]:
    """Throttle buckets of one attempt: where it came from and what it tried to guess."""
    found = [f"src:{source}"]
    if is_key:
        found.append(f"key:{display_prefix(credential)}")
        return found
    try:
        issuer = jwt.decode(credential, options={"verify_signature": False}).get("iss")
    except jwt.PyJWTError:
        return found
    if isinstance(issuer, str) and issuer:
        found.append(f"iss:{issuer[:_MAX_LABEL]}")
    return found


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

    async def retry_after(self, names: Sequence[str]) -> int | None:
        """Seconds until the most exhausted of `names` has room again; None if none is full."""
        worst: int | None = None
        for name in names:
            if await self._limiter.test(self._item, "authfail", name):
                continue
            stats = await self._limiter.get_window_stats(self._item, "authfail", name)
            retry = max(1, math.ceil(stats.reset_time - time.time()))
            worst = max(worst or 0, retry)
        return worst

    async def failed(self, names: Sequence[str]) -> None:
        for name in names:
            await self._limiter.hit(self._item, "authfail", name)

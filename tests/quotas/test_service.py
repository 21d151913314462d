"""QuotaService on both backends: process memory and a real Redis."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest

from agentry.config import Settings, TierQuota
from agentry.identity.principal import ROLE_SCOPES, Principal, Role
from agentry.quotas import ConcurrencyLimited, QuotaService, RateLimited, TierPayloadTooLarge
from tests.quotas.conftest import require_redis


def _principal(tier: str = "basic") -> Principal:
    return Principal(
        f"ten_{uuid.uuid4().hex[:30]}", "t", tier, Role.member, ROLE_SCOPES[Role.member]
    )


@pytest.fixture(params=["memory", "redis"])
async def quotas(request: pytest.FixtureRequest) -> AsyncIterator[QuotaService]:
    redis_url = require_redis() if request.param == "redis" else ""
    settings = Settings(
        redis_url=redis_url,
        quota_lease_margin_s=0.2,
        quotas={
            "basic": TierQuota(requests_per_minute=3, concurrent_calls=2, max_payload_bytes=100)
        },
    )
    service = QuotaService(settings)
    assert service.backend == request.param
    yield service
    await service.aclose()


async def test_over_the_rate_is_429_with_retry_after_and_others_unaffected(
    quotas: QuotaService,
) -> None:
    busy, other = _principal(), _principal()
    for _ in range(3):
        await quotas.check_rate(busy)
    with pytest.raises(RateLimited) as caught:
        await quotas.check_rate(busy)
    assert caught.value.status_code == 429
    assert caught.value.code == "rate_limited"
    assert 1 <= int(caught.value.headers["Retry-After"]) <= 60
    await quotas.check_rate(other)


async def test_concurrency_slots_are_leases(quotas: QuotaService) -> None:
    who = _principal()
    first = await quotas.acquire_slot(who, ttl_s=30)
    await quotas.acquire_slot(who, ttl_s=0.1)
    with pytest.raises(ConcurrencyLimited) as caught:
        await quotas.acquire_slot(who, ttl_s=30)
    assert caught.value.headers["Retry-After"] == "1"
    assert await quotas.try_acquire_slot(_principal(), ttl_s=30) is not None  # other tenant
    await quotas.release(first)
    assert await quotas.in_use(who.tenant_id) == 1
    third = await quotas.acquire_slot(who, ttl_s=30)
    # The unreleased short lease (a crashed holder) expires by itself: ttl + margin.
    await asyncio.sleep(0.5)
    assert await quotas.in_use(who.tenant_id) == 1
    assert await quotas.try_acquire_slot(who, ttl_s=30) is not None
    await quotas.release(third)


async def test_job_pool_has_its_own_limit(quotas: QuotaService) -> None:
    who = _principal()
    held = [await quotas.try_acquire_slot(who, ttl_s=30, pool="jobs", limit=1)]
    assert held[0] is not None
    assert await quotas.try_acquire_slot(who, ttl_s=30, pool="jobs", limit=1) is None
    assert await quotas.try_acquire_slot(who, ttl_s=30) is not None  # calls pool untouched


def test_payload_over_the_tier_limit_is_413() -> None:
    quotas = QuotaService(
        Settings(
            quotas={
                "basic": TierQuota(requests_per_minute=1, concurrent_calls=1, max_payload_bytes=10)
            }
        )
    )
    quotas.check_payload(_principal("premium"), 10)  # unknown tier falls back to basic
    with pytest.raises(TierPayloadTooLarge) as caught:
        quotas.check_payload(_principal(), 11)
    assert caught.value.status_code == 413

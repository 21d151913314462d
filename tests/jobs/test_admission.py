"""Jobs are admitted by the same quota check as invoke and stream (finding 3)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from agentry.config import TierQuota
from agentry.testing.inproc import InProcApp, running_app

RATE = 3


@pytest.fixture
async def limited(database_url: str, tmp_path: Path) -> AsyncIterator[InProcApp]:
    quota = TierQuota(requests_per_minute=RATE, concurrent_calls=4, max_payload_bytes=2048)
    async with running_app(
        database_url, tmp_path, auth_failure_limit="10000/minute", quotas={"basic": quota}
    ) as app:
        yield app


async def test_job_submissions_count_against_the_tenants_rate_and_get_429(
    limited: InProcApp,
) -> None:
    tenant = await limited.tenant("jobs-rate", tier="basic")
    other = await limited.tenant("jobs-other", tier="basic")
    key, other_key = await limited.key(tenant), await limited.key(other)
    body = {"input": {"prompt": "x"}}
    async with limited.client(key.secret) as c:
        for _ in range(RATE):
            r = await c.post("/v1/agents/nosuch/jobs", json=body)
            assert r.status_code != 429, r.text
        over = await c.post("/v1/agents/nosuch/jobs", json=body)
        assert over.status_code == 429, over.text
        assert over.json()["code"] == "rate_limited"
        assert int(over.headers["retry-after"]) >= 1
        # One window for every admission path: invoke and stream are refused too.
        for path in ("/v1/agents/nosuch/invoke", "/v1/agents/nosuch/stream"):
            refused = await c.post(path, json=body)
            assert refused.status_code == 429, refused.text
    async with limited.client(other_key.secret) as c:
        assert (await c.post("/v1/agents/nosuch/jobs", json=body)).status_code != 429


async def test_job_payload_over_the_tier_limit_is_413(limited: InProcApp) -> None:
    tenant = await limited.tenant("jobs-big", tier="basic")
    key = await limited.key(tenant)
    async with limited.client(key.secret) as c:
        r = await c.post("/v1/agents/nosuch/jobs", json={"input": {"blob": "x" * 4096}})
    assert r.status_code == 413, r.text
    assert r.json()["code"] == "payload_too_large"

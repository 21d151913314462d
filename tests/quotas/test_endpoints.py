"""Quotas, sync timeout and heartbeat over real HTTP, on a stack of their own with tiny limits.

The stack keeps its counters in the real Redis at 127.0.0.1:6379 when one answers (the
multi-replica path); otherwise in process memory, which every other e2e stack uses and
test_service.py covers directly. One stack either way, to keep the suite short.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import ExitStack

import httpx
import pytest
from httpx_sse import connect_sse

from agentry.testing.stack import Stack, start_stack, stop_stack
from tests.quotas.conftest import REDIS_URL, redis_available, require_redis

pytestmark = pytest.mark.e2e

SYNC_TIMEOUT_S = 4
WARM = "warm-session"
QUOTAS = {
    # acme
    "premium": {"requests_per_minute": 1000, "concurrent_calls": 2, "max_payload_bytes": 4000},
    # globex
    "basic": {"requests_per_minute": 3, "concurrent_calls": 4, "max_payload_bytes": 65536},
}


@pytest.fixture(scope="module")
def qstack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    # Redis when there is one (CI requires it); else the in-memory limiter, same assertions.
    redis_url = (
        require_redis()
        if os.environ.get("AGENTRY_TEST_REQUIRE_REDIS") == "1"
        else (REDIS_URL if redis_available() else "")
    )
    running = start_stack(
        tmp_path_factory.mktemp("quota"),
        quotas=json.dumps(QUOTAS),
        redis_url=redis_url,
        sync_timeout_s=str(SYNC_TIMEOUT_S),
        stream_heartbeat_s="0.2",
    )
    # Start acme's session now: a cold start on a busy machine can take seconds.
    deadline = time.monotonic() + 60
    with running.client(running.acme_key) as c:
        while _invoke(c, {"input": {}}).status_code != 200:
            assert time.monotonic() < deadline, "the echo session did not start"
    yield running
    stop_stack(running)


def _invoke(c: httpx.Client, body: dict[str, object]) -> httpx.Response:
    return c.post("/v1/agents/echo/invoke", json={"session_id": WARM, **body})


def test_over_the_rate_is_429_with_retry_after_and_other_tenant_unaffected(qstack: Stack) -> None:
    with qstack.client(qstack.globex_key) as globex, qstack.client(qstack.acme_key) as acme:
        for _ in range(3):
            # Admitted (a cold session may still time out on a busy machine: not our concern).
            assert _invoke(globex, {"input": {"prompt": "x"}}).status_code != 429
        limited = _invoke(globex, {"input": {"prompt": "x"}})
        assert limited.status_code == 429
        assert limited.headers["content-type"].startswith("application/problem+json")
        assert limited.json()["code"] == "rate_limited"
        assert 1 <= int(limited.headers["retry-after"]) <= 60
        streamed = globex.post("/v1/agents/echo/stream", json={"input": {}})
        assert streamed.status_code == 429
        for _ in range(5):
            assert _invoke(acme, {"input": {"prompt": "x"}}).status_code == 200


def test_over_the_concurrency_is_429_and_slots_free_when_calls_end(qstack: Stack) -> None:
    body = {"input": {"prompt": "held", "stream": True, "sleep": 1.0}, "session_id": WARM}
    with qstack.client(qstack.acme_key) as c, ExitStack() as held:
        events = []  # keep the iterators: a collected one closes its response
        for _ in range(2):
            source = held.enter_context(connect_sse(c, "POST", "/v1/agents/echo/stream", json=body))
            events.append(source.iter_sse())
            assert next(events[-1]).event == "start"  # its slot is taken
        with qstack.client(qstack.acme_key) as other:
            r = _invoke(other, {"input": {"prompt": "x"}})
            assert r.status_code == 429
            assert r.json()["code"] == "concurrency_limited"
            assert r.headers["retry-after"] == "1"
    # The two streams were hung up on: their slots come back.
    deadline = time.monotonic() + 10
    with qstack.client(qstack.acme_key) as c:
        while (r := _invoke(c, {"input": {"prompt": "x"}})).status_code == 429:
            assert time.monotonic() < deadline, r.text
            time.sleep(0.1)
        assert r.status_code == 200


def test_sync_past_the_timeout_is_504_agent_timeout(qstack: Stack) -> None:
    with qstack.client(qstack.acme_key) as c:
        started = time.monotonic()
        r = _invoke(c, {"input": {"sleep": SYNC_TIMEOUT_S * 2}})
    assert r.status_code == 504
    assert r.json()["code"] == "agent_timeout"
    assert SYNC_TIMEOUT_S - 0.5 < time.monotonic() - started < SYNC_TIMEOUT_S * 2 - 0.5


def test_idle_stream_gets_comment_heartbeats(qstack: Stack) -> None:
    with (
        qstack.client(qstack.acme_key) as c,
        c.stream(
            "POST",
            "/v1/agents/echo/stream",
            json={"input": {"prompt": "x", "stream": True, "sleep": 1.0}, "session_id": WARM},
        ) as r,
    ):
        lines = list(r.iter_lines())
    pings = [line for line in lines if line.startswith(":")]
    assert len(pings) >= 2
    assert lines.index(pings[0]) > lines.index("event: start")
    assert "event: end" in lines


def test_payload_over_the_tier_limit_is_413(qstack: Stack) -> None:
    with qstack.client(qstack.acme_key) as c:
        r = _invoke(c, {"input": {"prompt": "x" * 5000}})
        s = c.post("/v1/agents/echo/stream", json={"input": {"prompt": "x" * 5000}})
    assert r.status_code == s.status_code == 413
    assert r.json()["code"] == "payload_too_large"
    assert r.json()["max_bytes"] == 4000

"""Canary routing and the monitor's decision rules (no processes)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from agentry.config import Settings
from agentry.invocations.sessions import runtime_session_id
from agentry.registry.canary import Stats, decide, p95, stats
from agentry.registry.routing import Route, canary_endpoint
from agentry.runtime.base import RuntimeTarget


def _route(weight: int) -> Route:
    return Route(
        agent_id="agt_1",
        agent_name="a",
        alias="live",
        version_number=1,
        target=RuntimeTarget("arn", "live"),
        allowed_tiers=frozenset(),
        modes=frozenset(),
        canary_version_number=2,
        canary_target=RuntimeTarget("arn", canary_endpoint("live")),
        canary_weight=weight,
    )


def test_route_splits_new_sessions_by_bucket() -> None:
    route = _route(10)
    assert route.pick(0) == (2, RuntimeTarget("arn", "live_canary"))
    assert route.pick(9)[0] == 2
    assert route.pick(10) == (1, RuntimeTarget("arn", "live"))
    assert route.pick(99)[0] == 1
    share = sum(route.pick(b)[0] == 2 for b in range(100))
    assert share == 10


def test_a_client_session_always_lands_in_the_same_bucket() -> None:
    sid = runtime_session_id("ten_1", "agt_1", "my-session")
    assert runtime_session_id("ten_1", "agt_1", "my-session") == sid
    buckets = {
        int(runtime_session_id("ten_1", "agt_1", f"s{i}")[-8:], 16) % 100 for i in range(300)
    }
    assert len(buckets) > 80  # spread over the buckets, so weights hold


def _platform(**overrides: Any) -> Any:
    settings = Settings(canary_min_calls=4, canary_window_s=60, **overrides)
    return SimpleNamespace(settings=settings)


def test_p95_and_stats() -> None:
    assert p95([]) == 0.0
    assert p95(list(range(1, 101))) == 95.0
    s = stats([("succeeded", 10), ("failed", 20)])
    assert (s.calls, s.errors, s.error_rate) == (2, 1, 0.5)


@pytest.mark.parametrize(
    ("canary", "stable", "elapsed", "expected", "rule"),
    [
        (Stats(10, 5, 5), Stats(10, 0, 5), 1, False, "error_rate"),
        (Stats(10, 0, 500), Stats(10, 0, 100), 1, False, "p95_latency"),
        (Stats(10, 0, 30), Stats(10, 0, 5), 1, None, None),  # 6x but under the 50 ms floor
        (Stats(10, 0, 6), Stats(10, 0, 5), 61, True, "window_passed"),
        (Stats(3, 3, 6), Stats(10, 0, 5), 10, None, None),  # too few calls to judge
        (Stats(3, 0, 6), Stats(10, 0, 5), 61, None, None),  # window passed, too few calls
    ],
)
def test_decide(
    canary: Stats, stable: Stats, elapsed: float, expected: bool | None, rule: str | None
) -> None:
    promote, reason = decide(_platform(), canary, stable, elapsed)
    assert promote is expected
    assert reason.get("rule") == rule

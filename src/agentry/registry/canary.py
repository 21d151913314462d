"""The canary monitor: compares a canary with its stable version and decides.

Every `canary_check_interval_s` it reads the `invocations` rows of each running canary's alias
since the canary started. It rolls back when the canary's error rate exceeds
`canary_max_error_rate`, or its p95 exceeds the stable p95 times `canary_max_p95_ratio` (and
by more than `canary_p95_floor_ms`), once it has `canary_min_calls` calls. It promotes when
`canary_window_s` has passed with at least `canary_min_calls` canary calls. Each decision is
audited and logged as an event. With several API processes each runs a monitor; a decision
re-reads the alias inside a write transaction, so only one applies.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from prometheus_client import Counter
from sqlalchemy import select

from agentry.invocations.repository import version_outcomes
from agentry.kit.clock import utcnow
from agentry.kit.db.engine import session_scope
from agentry.kit.logging import get_logger
from agentry.kit.periodic import Periodic
from agentry.models import Agent, AgentAlias
from agentry.platform import Platform
from agentry.registry.deploy import finish_canary

log = get_logger("agentry.registry.canary")
DECISIONS = Counter(
    "agentry_canary_decisions_total",
    "Canary decisions this process applied: promoted or rolled_back",
    ["decision"],
)


@dataclass(frozen=True, slots=True)
class Stats:
    calls: int
    errors: int
    p95_ms: float

    @property
    def error_rate(self) -> float:
        return self.errors / self.calls if self.calls else 0.0


def p95(values: list[int]) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return float(ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)])


def stats(rows: list[tuple[str, int]]) -> Stats:
    return Stats(
        calls=len(rows),
        errors=sum(1 for status, _ in rows if status != "succeeded"),
        p95_ms=p95([ms for _, ms in rows]),
    )


def decide(
    platform: Platform, canary: Stats, stable: Stats, elapsed_s: float
) -> tuple[bool | None, dict[str, Any]]:
    """(promote?, reason): True promote, False roll back, None keep watching."""
    s = platform.settings
    reason: dict[str, Any] = {
        "canary_calls": canary.calls,
        "canary_error_rate": round(canary.error_rate, 4),
        "canary_p95_ms": canary.p95_ms,
        "stable_calls": stable.calls,
        "stable_error_rate": round(stable.error_rate, 4),
        "stable_p95_ms": stable.p95_ms,
    }
    if canary.calls >= s.canary_min_calls:
        if canary.error_rate > s.canary_max_error_rate:
            return False, reason | {"rule": "error_rate"}
        if (
            stable.calls
            and canary.p95_ms > stable.p95_ms * s.canary_max_p95_ratio
            and canary.p95_ms - stable.p95_ms > s.canary_p95_floor_ms
        ):
            return False, reason | {"rule": "p95_latency"}
    if elapsed_s >= s.canary_window_s and canary.calls >= s.canary_min_calls:
        # A canary that saw too little traffic keeps running until it has enough calls.
        return True, reason | {"rule": "window_passed"}
    return None, reason


class CanaryMonitor:
    def __init__(self, platform: Platform) -> None:
        self._platform = platform
        interval = platform.settings.canary_check_interval_s
        self._poller = Periodic("canary-monitor", interval, self.check_once)

    def start(self) -> None:
        self._poller.start()

    async def stop(self) -> None:
        await self._poller.stop()

    async def check_once(self) -> int:
        """Evaluate every running canary; returns how many were decided."""
        async with self._platform.sessionmaker() as session:
            running = (
                (
                    await session.execute(
                        select(AgentAlias.id).where(AgentAlias.canary_version_number.is_not(None))
                    )
                )
                .scalars()
                .all()
            )
        decided = 0
        for alias_id in running:
            decided += await self._check(alias_id)
        return decided

    async def _check(self, alias_id: str) -> int:
        platform = self._platform
        async with session_scope(platform.sessionmaker) as session:
            alias = await session.get(AgentAlias, alias_id, with_for_update=True)
            if alias is None or alias.canary_version_number is None:
                return 0
            agent = await session.get(Agent, alias.agent_id)
            assert agent is not None
            started = alias.canary_started_at or utcnow()
            if started.tzinfo is None:
                started = started.replace(tzinfo=utcnow().tzinfo)
            rows = await version_outcomes(
                session,
                agent_id=agent.id,
                alias=alias.name,
                since=started - timedelta(seconds=1),
                versions=[alias.version_number, alias.canary_version_number],
            )
            canary = stats([(s, ms) for v, s, ms in rows if v == alias.canary_version_number])
            stable = stats([(s, ms) for v, s, ms in rows if v == alias.version_number])
            elapsed = (utcnow() - started).total_seconds()
            promote, reason = decide(platform, canary, stable, elapsed)
            if promote is None:
                return 0
            canary_version = alias.canary_version_number
            await finish_canary(platform, session, agent, alias, promote=promote, reason=reason)
        platform.routes.invalidate(agent.name)
        DECISIONS.labels("promoted" if promote else "rolled_back").inc()
        log.info(
            "registry.canary_promoted" if promote else "registry.canary_rolled_back",
            agent=agent.name,
            alias=alias.name,
            canary_version=canary_version,
            **reason,
        )
        return 1

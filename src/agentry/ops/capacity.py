"""Quota sizing from measured peaks (RUNBOOK-004): the most runtime sessions held at once in a
window, overall and per tenant, the busiest second and minute, and a recommended quota.

A runtime session counts from its first call's start until its last call's end plus the idle
timeout (`AGENTRY_RUNTIME_IDLE_TIMEOUT_S`): the runtime keeps it, and the account quota counts
it, until then. A call still running counts until now.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from agentry.kit.clock import utcnow
from agentry.ops.repository import CapacityRepository, SessionUse
from agentry.ops.schemas import Capacity, TenantPeak

GROWTH_FACTOR = 1.5  # a recommendation leaves a third of the quota free at the measured peak
QUOTA_STEP = 10


def _utc(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def peak(spans: Iterable[tuple[datetime, datetime]]) -> tuple[int, datetime | None]:
    """Most intervals [start, end) open at once, and when that was first reached."""
    spans = list(spans)
    events = sorted(
        [(start, 1) for start, _ in spans] + [(end, -1) for _, end in spans],
        key=lambda e: (e[0], e[1]),  # at the same instant an end comes before a start
    )
    best, when, open_now = 0, None, 0
    for at, delta in events:
        open_now += delta
        if open_now > best:
            best, when = open_now, at
    return best, when


def recommend(peak_sessions: int, growth: float, step: int) -> int:
    return max(step, math.ceil(peak_sessions * growth / step) * step)


def busiest(starts: Iterable[datetime], seconds: int) -> int:
    counts = Counter(int(_utc(at).timestamp()) // seconds for at in starts)
    return max(counts.values(), default=0)


def _spans(
    uses: list[SessionUse], idle_s: int, until: datetime
) -> dict[tuple[str, str], tuple[datetime, datetime]]:
    """One span per (tenant, session): a session used by invocations and jobs is one session."""
    spans: dict[tuple[str, str], tuple[datetime, datetime]] = {}
    for tenant, sid, first, last, running in uses:
        start = _utc(first)
        end = until if running or last is None else _utc(last) + timedelta(seconds=idle_s)
        end = max(min(end, until), start)
        if (tenant, sid) in spans:
            was = spans[(tenant, sid)]
            start, end = min(start, was[0]), max(end, was[1])
        spans[(tenant, sid)] = (start, end)
    return spans


async def measure(
    session: AsyncSession,
    *,
    days: int,
    top: int,
    quota: int,
    idle_s: int,
    growth: float = GROWTH_FACTOR,
    step: int = QUOTA_STEP,
) -> Capacity:
    until = _utc(utcnow())
    since = until - timedelta(days=days)
    repo = CapacityRepository(session)
    spans = _spans(await repo.session_uses(since), idle_s, until)
    overall, overall_at = peak(spans.values())
    per: dict[str, list[tuple[datetime, datetime]]] = {}
    for (tenant, _), span in spans.items():
        per.setdefault(tenant, []).append(span)
    peaks = sorted(
        ((tenant, *peak(s), len(s)) for tenant, s in per.items()),
        key=lambda p: (-p[1], p[0]),
    )[:top]
    slugs = await repo.slugs([p[0] for p in peaks])
    starts = await repo.invocation_starts(since)
    recommended = recommend(overall, growth, step)
    return Capacity(
        days=days,
        since=since,
        until=until,
        idle_s=idle_s,
        sessions=len(spans),
        peak_sessions=overall,
        peak_at=overall_at,
        by_tenant=[
            TenantPeak(
                tenant_id=t, tenant_slug=slugs.get(t), peak_sessions=n, peak_at=at, sessions=used
            )
            for t, n, at, used in peaks
        ],
        peak_invocations_per_second=busiest(starts, 1),
        peak_invocations_per_minute=busiest(starts, 60),
        quota=quota,
        headroom=round((quota - overall) / quota, 4),
        growth_factor=growth,
        step=step,
        recommended_quota=recommended,
        increase_needed=recommended > quota,
    )

"""Queue metrics on `/metrics`: how many jobs wait and how long the oldest has waited.

Every worker refreshes them on its heartbeat; a backlog that grows while the queue age climbs
means the workers do not keep up (docs/runbooks/stuck-jobs.md).
"""

from __future__ import annotations

from datetime import datetime

from prometheus_client import Gauge

from agentry.models.job import JobStatus

BACKLOG = Gauge("agentry_jobs_backlog", "Jobs not finished yet, by status.", ["status"])
QUEUE_AGE = Gauge(
    "agentry_jobs_queue_age_seconds",
    "How long the oldest job ready to start has waited (0 when none waits).",
)


def record(counts: dict[str, int], oldest_ready: datetime | None, now: datetime) -> None:
    for status in (JobStatus.queued.value, JobStatus.running.value):
        BACKLOG.labels(status=status).set(counts.get(status, 0))
    QUEUE_AGE.set(max((now - oldest_ready).total_seconds(), 0.0) if oldest_ready else 0.0)

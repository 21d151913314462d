"""Domain gauges read at scrape time: job queue depth and age, webhook backlog and failing
deliveries, runtime sessions against the quota.

The process counters live beside their code: HTTP requests (kit.middleware), invocations by
tenant, agent, mode and outcome (invocations.service), budget denials (metering.budgets),
policy decisions and denials (policy.engine), canary decisions (registry.canary). Series with
a `tenant` label are why `/metrics` needs a scrape token or an operator credential outside
the local profile (health.endpoints)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Gauge, generate_latest
from sqlalchemy.ext.asyncio import AsyncSession

from agentry.ops import service
from agentry.ops.repository import OpsRepository
from agentry.platform import Platform


async def domain_metrics(session: AsyncSession, platform: Platform) -> bytes:
    summary = await service.health(session, platform)
    registry = CollectorRegistry(auto_describe=True)
    jobs = Gauge("agentry_jobs", "Jobs by status", ["status"], registry=registry)
    job_age = Gauge(
        "agentry_jobs_oldest_age_seconds",
        "Age of the oldest job in each status",
        ["status"],
        registry=registry,
    )
    hooks = Gauge(
        "agentry_webhook_deliveries", "Webhook deliveries by status", ["status"], registry=registry
    )
    hook_age = Gauge(
        "agentry_webhook_oldest_age_seconds",
        "Age of the oldest webhook delivery in each status",
        ["status"],
        registry=registry,
    )
    for status in ("queued", "running", "succeeded", "failed", "cancelled", "timed_out"):
        state = summary.jobs.get(status)
        jobs.labels(status).set(state.count if state else 0)
        job_age.labels(status).set((state.oldest_age_s or 0) if state else 0)
    for status in ("pending", "delivered", "dead", "gone", "held"):
        state = summary.webhooks.get(status)
        hooks.labels(status).set(state.count if state else 0)
        hook_age.labels(status).set((state.oldest_age_s or 0) if state else 0)
    Gauge(
        "agentry_webhook_deliveries_retrying",
        "Pending webhook deliveries whose last attempt failed (receiver down or erroring)",
        registry=registry,
    ).set(await OpsRepository(session).retrying_deliveries())
    Gauge(
        "agentry_runtime_session_quota", "Runtime sessions the account may hold", registry=registry
    ).set(summary.session_quota)
    Gauge("agentry_ready", "1 when the database and the runtime answer", registry=registry).set(
        1 if all(v == "ok" for v in summary.checks.values()) else 0
    )
    if summary.sessions is not None:
        Gauge("agentry_runtime_sessions", "Live runtime sessions", registry=registry).set(
            summary.sessions
        )
        per = Gauge(
            "agentry_runtime_sessions_by_tenant",
            "Live runtime sessions per tenant",
            ["tenant"],
            registry=registry,
        )
        listed = await service.list_sessions(platform, None)
        for t in listed.by_tenant:
            per.labels(t.tenant_id or "none").set(t.sessions)
    return generate_latest(registry)

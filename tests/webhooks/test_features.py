"""Webhook features over the API and a real receiver, verified with `standardwebhooks`:
event-type filters, test events, the delivery log, secret rotation with overlap, per-endpoint
rate limits, a hanging receiver that holds nobody else up, auto-disable after failing for
days, re-enable with replay, bulk replay; and another tenant's endpoints stay out of reach."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from standardwebhooks.webhooks import Webhook

from agentry.identity.principal import Role
from agentry.kit.db.engine import session_scope
from agentry.models import AuditEvent, WebhookDelivery
from agentry.testing.inproc import InProcApp, running_app
from agentry.testing.receiver import Receiver, start_receiver
from agentry.webhooks.sender import WebhookSender
from agentry.webhooks.service import enqueue_tenant_event


class Clock:
    """The real time plus an offset a test moves forward."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    @property
    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    @now.setter
    def now(self, value: datetime) -> None:
        self.offset = value - datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def hooks_api(database_url: str, tmp_path: Path) -> AsyncIterator[InProcApp]:
    async with running_app(
        database_url,
        tmp_path,
        webhook_allow_private=True,
        jobs_embedded_workers=False,  # the test drives its own sender
        webhook_timeout_s=1.5,
        auth_failure_limit="10000/minute",
    ) as app:
        yield app


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = start_receiver()
    yield r
    r.close()


async def _admin(api: InProcApp, slug: str = "acme") -> tuple[str, str]:
    tenant = await api.tenant(slug)
    return tenant.id, (await api.key(tenant, Role.admin)).secret


async def _event(api: InProcApp, tenant_id: str, event_type: str) -> None:
    async with session_scope(api.platform.sessionmaker) as s:
        await enqueue_tenant_event(s, tenant_id, event_type, {"n": 1})


async def test_filters_test_event_log_and_rotation(
    hooks_api: InProcApp, receiver: Receiver
) -> None:
    api = hooks_api
    tenant_id, key = await _admin(api)
    clock = Clock()
    sender = WebhookSender(api.platform.sessionmaker, api.settings, clock=clock, jitter=lambda: 1.0)
    async with api.client(key) as c:
        bad = await c.post(
            "/v1/webhooks", json={"url": f"{receiver.url}/x", "event_types": ["job.exploded"]}
        )
        assert (bad.status_code, bad.json()["code"]) == (422, "unknown_event_type")
        made = (
            await c.post(
                "/v1/webhooks",
                json={"url": f"{receiver.url}/jobs", "event_types": ["job.succeeded"]},
            )
        ).json()
        old_secret = made["secret"]
        receiver.secrets.append(old_secret)
        await _event(api, tenant_id, "budget.warning")  # filtered out
        await _event(api, tenant_id, "job.succeeded")
        await sender.run_once()
        assert [r.json["type"] for r in receiver.on("/jobs")] == ["job.succeeded"]

        test = await c.post(f"/v1/webhooks/{made['id']}/test")
        assert test.status_code == 202
        await sender.run_once()
        [got] = [r for r in receiver.on("/jobs") if r.json["type"] == "webhook.test"]
        assert got.verified
        assert got.webhook_id == test.json()["id"]
        log = (await c.get(f"/v1/webhooks/{made['id']}/deliveries")).json()["items"]
        assert {d["event_type"] for d in log} == {"job.succeeded", "webhook.test"}
        assert all(d["status"] == "delivered" and d["attempts"] == 1 for d in log)
        assert all(d["last_latency_ms"] is not None for d in log)

        rotated = await c.post(f"/v1/webhooks/{made['id']}/rotate-secret", json={"overlap_s": 3600})
        assert rotated.status_code == 200
        new_secret = rotated.json()["secret"]
        assert new_secret != old_secret
        await c.post(f"/v1/webhooks/{made['id']}/test")
        await sender.run_once()
        during = receiver.on("/jobs")[-1]
        # Both secrets verify during the overlap: receivers switch without a failed delivery.
        Webhook(old_secret).verify(during.body, during.headers)
        Webhook(new_secret).verify(during.body, during.headers)
        clock.now += timedelta(hours=2)  # the overlap is over
        await c.post(f"/v1/webhooks/{made['id']}/test")
    await sender.run_once()
    after = receiver.on("/jobs")[-1]
    assert after.headers["webhook-signature"].count("v1,") == 1
    await sender.stop()


async def test_rate_limit_and_a_hanging_receiver_hold_nobody_else(
    hooks_api: InProcApp, receiver: Receiver
) -> None:
    api = hooks_api
    tenant_id, key = await _admin(api)
    hang = socket.socket()
    hang.bind(("127.0.0.1", 0))
    hang.listen(16)  # accepts connections, never answers
    hang_url = f"http://127.0.0.1:{hang.getsockname()[1]}/hang"
    async with api.client(key) as c:
        slow = (await c.post("/v1/webhooks", json={"url": hang_url})).json()
        limited = (
            await c.post(
                "/v1/webhooks", json={"url": f"{receiver.url}/limited", "rate_limit_per_s": 2}
            )
        ).json()
        bad = await c.patch(f"/v1/webhooks/{limited['id']}", json={"rate_limit_per_s": 0})
        assert bad.status_code == 422
    for _ in range(6):
        await _event(api, tenant_id, "job.failed")
    sender = WebhookSender(api.platform.sessionmaker, api.settings)
    sender.start()
    started = time.monotonic()
    try:
        await asyncio.to_thread(receiver.wait_for, lambda r: r.path == "/limited", 5)
        first = time.monotonic() - started
        await asyncio.to_thread(lambda: _wait(lambda: len(receiver.on("/limited")) >= 6, 10))
        spread = time.monotonic() - started
    finally:
        await sender.stop()
        hang.close()
    assert first < 1.4  # not held by the hanging endpoint's 1.5 s timeouts
    assert spread >= 1.9  # 6 deliveries at 2/s (a burst of 2, then 2 per second)
    async with api.platform.sessionmaker() as s:
        stuck = (
            (
                await s.execute(
                    select(WebhookDelivery).where(WebhookDelivery.endpoint_id == slow["id"])
                )
            )
            .scalars()
            .all()
        )
    assert max(d.attempts for d in stuck) >= 1
    assert len(stuck) == 6


def _wait(predicate: Any, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise TimeoutError


async def test_failing_for_five_days_disables_then_enable_replays(
    hooks_api: InProcApp, receiver: Receiver
) -> None:
    api = hooks_api
    tenant_id, key = await _admin(api)
    clock = Clock()
    sender = WebhookSender(
        api.platform.sessionmaker,
        api.settings,
        clock=clock,
        jitter=lambda: 1.0,
        audit=api.platform.audit,
    )
    async with api.client(key) as c:
        broken = (await c.post("/v1/webhooks", json={"url": f"{receiver.url}/broken"})).json()
        other = (await c.post("/v1/webhooks", json={"url": f"{receiver.url}/other"})).json()
    receiver.respond("/broken", *[(500, {})] * 20)
    await _event(api, tenant_id, "job.failed")
    for _ in range(5):  # 0 s, 5 s, 5 min, 30 min, 2 h
        await sender.run_once()
        async with api.platform.sessionmaker() as s:
            rows = (
                (
                    await s.execute(
                        select(WebhookDelivery).where(WebhookDelivery.endpoint_id == broken["id"])
                    )
                )
                .scalars()
                .all()
            )
        clock.now = max(r.next_attempt_at for r in rows)
    async with api.client(key) as c:
        state = (await c.get(f"/v1/webhooks/{broken['id']}")).json()
        assert state["status"] == "active"
        assert state["failing_since"] is not None
    clock.now += timedelta(days=5)
    await _event(api, tenant_id, "job.failed")
    await sender.run_once()
    async with api.client(key) as c:
        state = (await c.get(f"/v1/webhooks/{broken['id']}")).json()
        assert state["status"] == "disabled"
        assert "failing since" in state["disabled_reason"]
        await _event(api, tenant_id, "job.succeeded")  # held while disabled
        log = (await c.get(f"/v1/webhooks/{broken['id']}/deliveries?status=held")).json()
        assert {d["event_type"] for d in log["items"]} >= {"job.succeeded"}
        await sender.run_once()
        told = [
            r.json for r in receiver.on("/other") if r.json["type"] == "webhook.endpoint_disabled"
        ]
        assert [t["data"]["endpoint_id"] for t in told] == [broken["id"]]
        receiver.respond("/broken")  # it works again
        back = await c.post(f"/v1/webhooks/{broken['id']}/enable", json={"replay_missed": True})
        assert back.status_code == 200
        assert back.json()["status"] == "active"
        assert back.json()["replayed"] >= 2
        again = await c.post(f"/v1/webhooks/{broken['id']}/enable", json={})
        assert (again.status_code, again.json()["code"]) == (409, "webhook_endpoint_active")
        assert other["id"] != broken["id"]
    await sender.run_once()
    types = [r.json["type"] for r in receiver.on("/broken")]
    assert "job.succeeded" in types
    assert "webhook.endpoint_disabled" in types
    async with api.platform.sessionmaker() as s:
        audited = (
            (
                await s.execute(
                    select(AuditEvent).where(AuditEvent.action == "webhook.endpoint_disabled")
                )
            )
            .scalars()
            .all()
        )
    assert [a.details["endpoint_id"] for a in audited] == [broken["id"]]
    await sender.stop()


async def test_bulk_replay_and_other_tenants(hooks_api: InProcApp, receiver: Receiver) -> None:
    api = hooks_api
    tenant_id, key = await _admin(api)
    _, other_key = await _admin(api, "globex")
    op = (await api.key(await api.tenant("ops"), Role.operator)).secret
    clock = Clock()
    sender = WebhookSender(api.platform.sessionmaker, api.settings, clock=clock, jitter=lambda: 1.0)
    async with api.client(key) as c:
        made = (await c.post("/v1/webhooks", json={"url": f"{receiver.url}/dead"})).json()
    receiver.respond("/dead", *[(500, {})] * 8)
    await _event(api, tenant_id, "job.failed")
    for _ in range(8):
        await sender.run_once()
        clock.now += timedelta(hours=11)
    async with api.client(key) as c:
        dead = (await c.get(f"/v1/webhooks/{made['id']}/deliveries?status=dead")).json()["items"]
        assert len(dead) == 1
        replay = await c.post(f"/v1/webhooks/{made['id']}/replay", json={})
        assert replay.json() == {"replayed": 1}
    async with api.client(other_key) as c:
        for method, path, body in (
            ("GET", "", None),
            ("PATCH", "", {"event_types": []}),
            ("GET", "/deliveries", None),
            ("POST", "/test", None),
            ("POST", "/replay", {}),
            ("POST", "/rotate-secret", {}),
            ("POST", "/enable", {}),
        ):
            r = await c.request(method, f"/v1/webhooks/{made['id']}{path}", json=body)
            assert (r.status_code, r.json()["code"]) == (404, "webhook_endpoint_not_found"), path
            assert made["id"] not in r.text or r.status_code == 404
    clock.offset = timedelta(0)
    receiver.respond("/dead", *[(500, {})] * 8)
    for _ in range(8):
        await sender.run_once()
        clock.now += timedelta(hours=11)
    async with api.client(key) as c:
        refused = await c.post("/v1/admin/webhooks/replay", json={})
        assert refused.status_code == 403
    async with api.client(op) as c:
        bulk = await c.post("/v1/admin/webhooks/replay", json={"tenant_id": tenant_id})
        assert bulk.json() == {"replayed": 1}
    await sender.run_once()
    assert receiver.on("/dead")[-1].json["type"] == "job.failed"
    await sender.stop()

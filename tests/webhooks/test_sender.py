"""Webhook sender against a real local receiver, on SQLite and PostgreSQL, with a fake clock."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agentry.config import Settings
from agentry.kit.db.engine import session_scope
from agentry.kit.ids import new_id
from agentry.models import Tenant, WebhookDelivery, WebhookEndpoint
from agentry.testing.receiver import Receiver, start_receiver
from agentry.webhooks import service
from agentry.webhooks.secretbox import SecretBox, new_secret
from agentry.webhooks.sender import WebhookSender
from tests.factories import make_tenant

SCHEDULE = [0, 5, 300, 1800, 7200, 18000, 36000, 36000]


class FakeClock:
    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = start_receiver()
    yield r
    r.close()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path, webhook_allow_private=True)


@pytest.fixture
async def tenant(sessionmaker: async_sessionmaker[AsyncSession]) -> Tenant:
    async with session_scope(sessionmaker) as s:
        return await make_tenant(s)


@pytest.fixture
async def sender(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> AsyncIterator[tuple[WebhookSender, FakeClock]]:
    clock = FakeClock()
    s = WebhookSender(sessionmaker, settings, clock=clock, jitter=lambda: 1.0)
    yield s, clock
    await s.stop()


async def _delivery(
    maker: async_sessionmaker[AsyncSession],
    settings: Settings,
    tenant: Tenant,
    url: str,
    secret: str,
    at: datetime,
    endpoint_id: str | None = None,
) -> str:
    async with session_scope(maker) as s:
        d = WebhookDelivery(
            id=new_id("msg"),
            tenant_id=tenant.id,
            endpoint_id=endpoint_id,
            job_id="job_x",
            url=url,
            secret_enc=SecretBox(settings).seal(secret),
            event_type="job.succeeded",
            payload={"type": "job.succeeded", "data": {"job_id": "job_x", "status": "succeeded"}},
            status="pending",
            attempts=0,
            next_attempt_at=at,
            created_at=at,
        )
        s.add(d)
    return d.id


async def _get(maker: async_sessionmaker[AsyncSession], delivery_id: str) -> WebhookDelivery:
    async with maker() as s:
        d = await s.get(WebhookDelivery, delivery_id)
        assert d is not None
        return d


async def test_delivery_is_signed_per_standard_webhooks(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    tenant: Tenant,
    receiver: Receiver,
    sender: tuple[WebhookSender, FakeClock],
) -> None:
    s, clock = sender
    secret = new_secret()
    receiver.secrets.append(secret)
    clock.now = datetime.now(UTC)  # the receiver checks the timestamp against its own clock
    did = await _delivery(sessionmaker, settings, tenant, f"{receiver.url}/ok", secret, clock.now)
    assert await s.run_once() == 1
    [got] = receiver.on("/ok")
    assert got.verified
    assert got.webhook_id == did
    assert got.json["data"] == {"job_id": "job_x", "status": "succeeded"}
    assert (await _get(sessionmaker, did)).status == "delivered"
    assert await s.run_once() == 0  # delivered once, not again


async def test_retry_schedule_same_id_then_dead_letter_and_replay(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    tenant: Tenant,
    receiver: Receiver,
    sender: tuple[WebhookSender, FakeClock],
) -> None:
    s, clock = sender
    receiver.respond("/flaky", *[(500, {})] * len(SCHEDULE))
    did = await _delivery(
        sessionmaker, settings, tenant, f"{receiver.url}/flaky", new_secret(), clock.now
    )
    delays = []
    for attempt in range(1, len(SCHEDULE) + 1):
        before = clock.now
        assert await s.run_once() == 1
        d = await _get(sessionmaker, did)
        assert d.attempts == attempt
        if attempt < len(SCHEDULE):
            delays.append((d.next_attempt_at - before).total_seconds())
            clock.now = d.next_attempt_at - timedelta(seconds=1)
            assert await s.run_once() == 0  # not due yet
            clock.now = d.next_attempt_at
    assert delays == SCHEDULE[1:]
    assert d.status == "dead"
    assert {r.webhook_id for r in receiver.on("/flaky")} == {did}
    assert len(receiver.on("/flaky")) == len(SCHEDULE)

    async with session_scope(sessionmaker) as session:
        assert [x.id for x in await service.list_dead_letters(session)] == [did]
        await service.replay_dead_letter(session, did)
    clock.now = datetime.now(UTC) + timedelta(seconds=1)
    assert await s.run_once() == 1
    assert (await _get(sessionmaker, did)).status == "delivered"
    assert receiver.on("/flaky")[-1].webhook_id == did


async def test_jitter_is_within_ten_percent(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    tenant: Tenant,
    receiver: Receiver,
) -> None:
    clock = FakeClock()
    s = WebhookSender(sessionmaker, settings, clock=clock)
    try:
        receiver.respond("/j", (503, {}))
        did = await _delivery(
            sessionmaker, settings, tenant, f"{receiver.url}/j", new_secret(), clock.now
        )
        await s.run_once()
        delay = ((await _get(sessionmaker, did)).next_attempt_at - clock.now).total_seconds()
        assert 4.5 <= delay <= 5.5
    finally:
        await s.stop()


async def test_410_disables_the_endpoint(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    tenant: Tenant,
    receiver: Receiver,
    sender: tuple[WebhookSender, FakeClock],
) -> None:
    s, clock = sender
    async with session_scope(sessionmaker) as session:
        endpoint = WebhookEndpoint(
            id=new_id("whe"),
            tenant_id=tenant.id,
            url=f"{receiver.url}/gone",
            secret_enc=SecretBox(settings).seal(new_secret()),
            status="active",
        )
        session.add(endpoint)
    receiver.respond("/gone", (410, {}))
    did = await _delivery(
        sessionmaker, settings, tenant, endpoint.url, new_secret(), clock.now, endpoint.id
    )
    await s.run_once()
    assert (await _get(sessionmaker, did)).status == "gone"
    async with sessionmaker() as session:
        row = await session.get(WebhookEndpoint, endpoint.id)
        assert row is not None
        assert row.status == "disabled"
    clock.now += timedelta(hours=1)
    assert await s.run_once() == 0
    assert len(receiver.on("/gone")) == 1


@pytest.mark.parametrize("target", ["http://169.254.169.254/latest/meta-data/", "/internal"])
async def test_redirect_is_not_followed(
    target: str,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    tenant: Tenant,
    receiver: Receiver,
    sender: tuple[WebhookSender, FakeClock],
) -> None:
    s, clock = sender
    location = target if target.startswith("http") else f"{receiver.url}{target}"
    receiver.respond("/redir", (302, {"Location": location}))
    did = await _delivery(
        sessionmaker, settings, tenant, f"{receiver.url}/redir", new_secret(), clock.now
    )
    await s.run_once()
    d = await _get(sessionmaker, did)
    assert d.last_status_code == 302
    assert d.status == "pending"  # a 3xx is a failed attempt, retried on schedule
    assert receiver.on("/internal") == []
    assert len(receiver.on("/redir")) == 1

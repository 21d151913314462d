"""The webhook sender: claims due outbox rows, signs (Standard Webhooks), POSTs, reschedules.

At least once, with the same `webhook-id` on every attempt, so receivers deduplicate on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

import aiohttp
import orjson
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from standardwebhooks.webhooks import Webhook
from yarl import URL

from agentry.audit.service import AuditLog
from agentry.config import Settings
from agentry.kit.clock import utcnow
from agentry.kit.db.batch import GroupCommit
from agentry.kit.db.engine import session_scope
from agentry.kit.logging import get_logger
from agentry.models import WebhookDelivery, WebhookEndpoint
from agentry.webhooks.repository import DeliveryQueueRepository
from agentry.webhooks.secretbox import SecretBox
from agentry.webhooks.ssrf import Resolver, WebhookUrlRefused, check_url, system_resolver

log = get_logger("agentry.webhooks.sender")
BATCH = 50
MAX_IN_FLIGHT = 200  # deliveries at once per sender
MAX_ANSWER = 64 * 1024  # bytes of a receiver's answer read (and dropped)


class WebhookSender:
    """Deliveries run as tasks of their own: a slow or hanging receiver holds only its own
    endpoint's slots (`webhook_endpoint_in_flight`) and its rate limit, never the others."""

    def __init__(
        self,
        maker: async_sessionmaker[AsyncSession],
        settings: Settings,
        *,
        clock: Callable[[], datetime] = utcnow,
        resolver: Resolver = system_resolver,
        jitter: Callable[[], float] = lambda: random.uniform(0.9, 1.1),
        audit: AuditLog | None = None,
    ) -> None:
        self._maker = maker
        self._settings = settings
        self._box = SecretBox(settings)
        self._clock = clock
        self._resolver = resolver
        self._jitter = jitter
        self._audit = audit
        self._schedule = list(settings.webhook_schedule_s)
        self._http: aiohttp.ClientSession | None = None
        self._timeout = aiohttp.ClientTimeout(total=settings.webhook_timeout_s)
        self._task: asyncio.Task[None] | None = None
        self._inflight: set[asyncio.Task[None]] = set()
        self._per_endpoint: dict[str, int] = {}
        self._buckets: dict[str, tuple[float, float]] = {}  # endpoint -> (tokens, at)
        self._wake = asyncio.Event()
        self._results = GroupCommit(maker)

    def wake(self) -> None:
        """New deliveries were committed (a job finished here): look now, not at the next poll."""
        self._wake.set()

    def reserve(self) -> datetime | None:
        """A hold for deliveries to be handed to this sender in memory (`send`): written as
        their next attempt, so no poll takes them meanwhile and, should this process die, any
        sender finds them due once it ends. None when this sender has no room."""
        if len(self._inflight) >= MAX_IN_FLIGHT:
            return None
        return self._clock() + timedelta(seconds=self._settings.webhook_timeout_s + 30)

    def send(self, deliveries: Sequence[WebhookDelivery]) -> None:
        """Deliver committed rows held for this sender (`reserve`) now, without a claim: rows
        without an endpoint (a job's own `webhook_url`: no rate limit, no endpoint slots)."""
        for delivery in deliveries:
            task = asyncio.create_task(self._run(delivery, None))
            self._inflight.add(task)
            task.add_done_callback(self._inflight.discard)

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="webhook-sender")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for task in list(self._inflight):
            task.cancel()
        for task in list(self._inflight):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self._results.close()
        if self._http is not None:
            await self._http.close()

    def _client(self) -> aiohttp.ClientSession:
        """aiohttp, not httpx: a keep-alive pool whose cost per request does not grow with the
        number of pooled connections (httpx checked every idle one per request; 7% of the
        API's CPU in the end-to-end profile, docs/benchmarks.md)."""
        if self._http is None:
            connector = aiohttp.TCPConnector(limit=0, keepalive_timeout=30, use_dns_cache=False)
            self._http = aiohttp.ClientSession(
                connector=connector, timeout=self._timeout, auto_decompress=False
            )
        return self._http

    async def _loop(self) -> None:
        while True:
            try:
                claimed = await self._dispatch(wait=False)
            except Exception:
                log.exception("webhooks.sender_failed")
                claimed = 0
            if claimed < BATCH:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        self._wake.wait(), self._settings.webhook_poll_interval_s
                    )
                self._wake.clear()

    async def run_once(self) -> int:
        """Claim what is due and deliver it; returns when those deliveries are done."""
        return await self._dispatch(wait=True)

    async def _dispatch(self, *, wait: bool) -> int:
        room = MAX_IN_FLIGHT - len(self._inflight)
        if room <= 0:
            await asyncio.wait(self._inflight, return_when=asyncio.FIRST_COMPLETED)
            return 0
        now = self._clock()
        hold = now + timedelta(seconds=self._settings.webhook_timeout_s + 30)
        async with session_scope(self._maker) as session:
            queue = DeliveryQueueRepository(session)
            due = list(await queue.claim_due(now, min(BATCH, room), hold))
            endpoints = {
                e.id: e for e in await queue.endpoints({d.endpoint_id for d in due} - {None})
            }
            later = [d for d in due if not self._admit(d, endpoints.get(d.endpoint_id or ""))]
            if later:
                # Over the endpoint's rate or slots: next second, no attempt counted.
                await queue.postpone([d.id for d in later], now + timedelta(seconds=1))
        started = []
        for delivery in due:
            if delivery in later:
                continue
            endpoint = endpoints.get(delivery.endpoint_id or "")
            task = asyncio.create_task(self._run(delivery, endpoint))
            self._inflight.add(task)
            task.add_done_callback(self._inflight.discard)
            started.append(task)
        if wait and started:
            await asyncio.gather(*started)
        return len(due)

    def _admit(self, delivery: WebhookDelivery, endpoint: WebhookEndpoint | None) -> bool:
        if endpoint is None:
            return True
        if self._per_endpoint.get(endpoint.id, 0) >= self._settings.webhook_endpoint_in_flight:
            return False
        rate = endpoint.rate_limit_per_s
        if rate:
            # A token bucket per endpoint (burst = one second's worth), in this process.
            tokens, at = self._buckets.get(endpoint.id, (float(rate), time.monotonic()))
            now = time.monotonic()
            tokens = min(float(rate), tokens + (now - at) * rate)
            if tokens < 1:
                self._buckets[endpoint.id] = (tokens, now)
                return False
            self._buckets[endpoint.id] = (tokens - 1, now)
        self._per_endpoint[endpoint.id] = self._per_endpoint.get(endpoint.id, 0) + 1
        return True

    async def _run(self, delivery: WebhookDelivery, endpoint: WebhookEndpoint | None) -> None:
        try:
            await self._deliver(delivery, endpoint)
        except Exception:
            log.exception("webhooks.delivery_failed", delivery=delivery.id)
        finally:
            if endpoint is not None:
                left = self._per_endpoint.get(endpoint.id, 1) - 1
                if left > 0:
                    self._per_endpoint[endpoint.id] = left
                else:
                    self._per_endpoint.pop(endpoint.id, None)

    def _secrets(self, delivery: WebhookDelivery, endpoint: WebhookEndpoint | None) -> list[str]:
        """The endpoint's current secret, plus the previous one during a rotation's overlap;
        a job's own `webhook_url` keeps the secret it was created with."""
        if endpoint is None:
            return [delivery.secret_enc]
        secrets = [endpoint.secret_enc]
        expires = endpoint.previous_secret_expires_at
        if endpoint.previous_secret_enc and expires is not None and expires > self._clock():
            secrets.append(endpoint.previous_secret_enc)
        return secrets

    def signed_headers(
        self, delivery: WebhookDelivery, body: str, secrets: list[str] | None = None
    ) -> dict[str, str]:
        at = self._clock()
        signature = " ".join(
            Webhook(self._box.open(sealed)).sign(delivery.id, at, body)
            for sealed in (secrets or [delivery.secret_enc])
        )
        return {
            "content-type": "application/json",
            "webhook-id": delivery.id,
            "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": signature,
            "user-agent": "Agentry-Webhooks/1",
        }

    async def _attempt(
        self, delivery: WebhookDelivery, secrets: list[str]
    ) -> tuple[int | None, str | None]:
        try:
            checked = await check_url(
                delivery.url,
                allow_private=self._settings.webhook_allow_private,
                https_only=self._settings.profile != "local",
                resolver=self._resolver,
            )
        except WebhookUrlRefused as exc:
            return None, f"refused: {exc.detail}"
        raw = orjson.dumps(delivery.payload)
        headers = self.signed_headers(delivery, raw.decode(), secrets)
        headers["host"] = checked.host_header
        try:
            # Connect to the address that was checked (no second DNS lookup), SNI = the name.
            async with self._client().post(
                URL(checked.pinned_url(), encoded=True),
                data=raw,
                headers=headers,
                allow_redirects=False,
                server_hostname=checked.host if checked.scheme == "https" else None,
            ) as response:
                # Read (a bounded amount of) the answer so the connection can be reused.
                await response.content.read(MAX_ANSWER)
                return response.status, None
        except (aiohttp.ClientError, TimeoutError) as exc:
            return None, f"{type(exc).__name__}: {exc}"[:500]

    async def _deliver(
        self, delivery: WebhookDelivery, endpoint: WebhookEndpoint | None = None
    ) -> None:
        started = time.perf_counter()
        status, error = await self._attempt(delivery, self._secrets(delivery, endpoint))
        latency_ms = round((time.perf_counter() - started) * 1000)
        now = self._clock()

        async def record(session: AsyncSession) -> str | None:
            row = await session.get(
                WebhookDelivery, delivery.id, with_for_update=True
            )  # scoping: exempt (the sender locks the delivery it is sending)
            if row is None or row.status != "pending":
                return None
            row.attempts += 1
            row.last_status_code = status
            row.last_error = error
            row.last_latency_ms = latency_ms
            ok = status is not None and 200 <= status < 300
            queue = DeliveryQueueRepository(session)
            if ok:
                row.status = "delivered"
                row.delivered_at = now
            elif status == 410:
                row.status = "gone"
                if row.endpoint_id is not None:
                    await queue.disable_endpoint(row.endpoint_id, "receiver answered 410 Gone", now)
            elif row.attempts >= len(self._schedule):
                row.status = "dead"
            else:
                delay = self._schedule[row.attempts] * self._jitter()
                row.next_attempt_at = now + timedelta(seconds=delay)
            if row.endpoint_id is not None and status != 410:
                await self._track(session, queue, row.endpoint_id, ok, now)
            return row.status

        # Attempts that end together are recorded in one transaction.
        outcome = await self._results.run(record)
        if outcome is None:
            return
        log.info(
            "webhooks.attempt",
            delivery=delivery.id,
            status_code=status,
            error=error,
            outcome=outcome,
            latency_ms=latency_ms,
        )

    async def _track(
        self,
        session: AsyncSession,
        queue: DeliveryQueueRepository,
        endpoint_id: str,
        ok: bool,
        now: datetime,
    ) -> None:
        """Failing since when; past `webhook_disable_after_s`, disable the endpoint, tell the
        tenant (`webhook.endpoint_disabled`) and audit it."""
        endpoint = await queue.endpoint(endpoint_id)
        if endpoint is None:
            return
        if ok:
            endpoint.failing_since = None
            return
        if endpoint.failing_since is None:
            endpoint.failing_since = now
            return
        failing_s = (now - endpoint.failing_since).total_seconds()
        if failing_s < self._settings.webhook_disable_after_s or endpoint.status != "active":
            return
        reason = f"deliveries failing since {endpoint.failing_since.isoformat()}"
        if not await queue.disable_endpoint(endpoint_id, reason, now):
            return
        endpoint.status, endpoint.disabled_reason, endpoint.disabled_at = "disabled", reason, now
        data = {"endpoint_id": endpoint_id, "url": endpoint.url, "reason": reason}
        from agentry.webhooks.service import ENDPOINT_DISABLED, enqueue_tenant_event

        await session.flush()
        await enqueue_tenant_event(session, endpoint.tenant_id, ENDPOINT_DISABLED, data)
        if self._audit is not None:
            await self._audit.append(
                session,
                actor="platform:webhooks",
                action=ENDPOINT_DISABLED,
                actor_tenant_id=endpoint.tenant_id,
                target_tenant_id=endpoint.tenant_id,
                details={"endpoint_id": endpoint_id, "reason": reason},
            )
        log.warning("webhooks.endpoint_disabled", endpoint=endpoint_id)

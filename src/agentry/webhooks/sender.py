"""The webhook sender: claims due outbox rows, signs (Standard Webhooks), POSTs, reschedules.

At least once, with the same `webhook-id` on every attempt, so receivers deduplicate on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
from collections.abc import Callable
from datetime import datetime, timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from standardwebhooks.webhooks import Webhook

from agentry.config import Settings
from agentry.kit.clock import utcnow
from agentry.kit.db.engine import session_scope
from agentry.kit.logging import get_logger
from agentry.models import WebhookDelivery
from agentry.webhooks.repository import DeliveryQueueRepository
from agentry.webhooks.secretbox import SecretBox
from agentry.webhooks.ssrf import Resolver, WebhookUrlRefused, check_url, system_resolver

log = get_logger("agentry.webhooks.sender")
BATCH = 50


class WebhookSender:
    def __init__(
        self,
        maker: async_sessionmaker[AsyncSession],
        settings: Settings,
        *,
        clock: Callable[[], datetime] = utcnow,
        resolver: Resolver = system_resolver,
        jitter: Callable[[], float] = lambda: random.uniform(0.9, 1.1),
    ) -> None:
        self._maker = maker
        self._settings = settings
        self._box = SecretBox(settings)
        self._clock = clock
        self._resolver = resolver
        self._jitter = jitter
        self._schedule = list(settings.webhook_schedule_s)
        self._http = httpx.AsyncClient(
            follow_redirects=False, timeout=settings.webhook_timeout_s, trust_env=False
        )
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="webhook-sender")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._http.aclose()

    async def _loop(self) -> None:
        while True:
            try:
                sent = await self.run_once()
            except Exception:
                log.exception("webhooks.sender_failed")
                sent = 0
            if sent < BATCH:
                await asyncio.sleep(self._settings.webhook_poll_interval_s)

    async def run_once(self) -> int:
        now = self._clock()
        hold = now + timedelta(seconds=self._settings.webhook_timeout_s + 30)
        async with session_scope(self._maker) as session:
            due = list(await DeliveryQueueRepository(session).claim_due(now, BATCH, hold))
        if due:
            await asyncio.gather(*(self._deliver(d) for d in due))
        return len(due)

    def signed_headers(self, delivery: WebhookDelivery, body: str) -> dict[str, str]:
        at = self._clock()
        signature = Webhook(self._box.open(delivery.secret_enc)).sign(delivery.id, at, body)
        return {
            "content-type": "application/json",
            "webhook-id": delivery.id,
            "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": signature,
            "user-agent": "Agentry-Webhooks/1",
        }

    async def _attempt(self, delivery: WebhookDelivery) -> tuple[int | None, str | None]:
        try:
            checked = await check_url(
                delivery.url,
                allow_private=self._settings.webhook_allow_private,
                https_only=self._settings.profile != "local",
                resolver=self._resolver,
            )
        except WebhookUrlRefused as exc:
            return None, f"refused: {exc.detail}"
        body = json.dumps(delivery.payload, separators=(",", ":"))
        headers = self.signed_headers(delivery, body)
        headers["host"] = checked.host_header
        try:
            # Connect to the address that was checked (no second DNS lookup), SNI = the name.
            response = await self._http.post(
                checked.pinned_url(),
                content=body.encode(),
                headers=headers,
                extensions={"sni_hostname": checked.host},
            )
        except httpx.HTTPError as exc:
            return None, f"{type(exc).__name__}: {exc}"[:500]
        return response.status_code, None

    async def _deliver(self, delivery: WebhookDelivery) -> None:
        status, error = await self._attempt(delivery)
        now = self._clock()
        async with session_scope(self._maker) as session:
            row = await session.get(WebhookDelivery, delivery.id, with_for_update=True)
            if row is None or row.status != "pending":
                return
            row.attempts += 1
            row.last_status_code = status
            row.last_error = error
            if status is not None and 200 <= status < 300:
                row.status = "delivered"
                row.delivered_at = now
            elif status == 410:
                row.status = "gone"
                if row.endpoint_id is not None:
                    await DeliveryQueueRepository(session).disable_endpoint(
                        row.endpoint_id, "receiver answered 410 Gone"
                    )
            elif row.attempts >= len(self._schedule):
                row.status = "dead"
            else:
                delay = self._schedule[row.attempts] * self._jitter()
                row.next_attempt_at = now + timedelta(seconds=delay)
            outcome = row.status
        log.info(
            "webhooks.attempt",
            delivery=delivery.id,
            status_code=status,
            error=error,
            outcome=outcome,
        )

"""Detached streams: a stream's agent call runs in a task of the platform's, not of the
client's connection. Readers attach to it: the one that started it, a reconnect with
`Last-Event-ID`, an idempotent retry, on this replica or another.

Every event is stored (the `stream_events` table, group-committed) and, while the call runs
here, kept in a bounded in-memory buffer that local readers follow without touching the
database. Readers on other replicas read the stored events and wake on the stream channel
(`channel.py`) when a batch of them is committed. A reader that falls behind the buffer (a
slow consumer) reads from the database: memory per stream is bounded by the buffer, whatever
the number or speed of readers.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from agentry.invocations.channel import Channel
from agentry.kit.logging import get_logger

TERMINAL_EVENTS = frozenset({"end", "error"})
BUFFER_EVENTS = 1024
log = get_logger("agentry.invocations.streams")
SSE = dict[str, str]


@dataclass
class LiveStream:
    invocation_id: str
    tenant_id: str
    buffer: deque[tuple[int, SSE]] = field(default_factory=lambda: deque(maxlen=BUFFER_EVENTS))
    tick: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None
    done: bool = False
    cancel_requested: bool = False

    def push(self, seq: int, sse: SSE) -> None:
        self.buffer.append((seq, sse))
        if sse.get("event") in TERMINAL_EVENTS:
            self.done = True
        self.wake()

    def wake(self) -> None:
        tick, self.tick = self.tick, asyncio.Event()
        tick.set()  # wakes every reader waiting on the previous tick

    def after(self, seq: int) -> list[tuple[int, SSE]] | None:
        """Buffered events after `seq`; None when the buffer no longer holds `seq + 1`."""
        if not self.buffer:
            return []
        first, last = self.buffer[0][0], self.buffer[-1]
        if seq + 1 < first:
            return None
        if seq >= last[0]:
            # Past the end: a finished stream answers with its terminal event again.
            return [last] if last[1].get("event") in TERMINAL_EVENTS and seq > last[0] else []
        return [item for item in self.buffer if item[0] > seq]


Producer = Callable[[LiveStream], Awaitable[None]]


class StreamHub:
    def __init__(self, channel: Channel) -> None:
        self.channel = channel
        self._live: dict[str, LiveStream] = {}
        self._remote: dict[str, asyncio.Event] = {}
        self._publishes: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        await self.channel.start(self._on_message)

    async def stop(self) -> None:
        """Cancel the calls still running here (each stores its terminal event)."""
        running = [s.task for s in self._live.values() if s.task is not None]
        for task in running:
            task.cancel()
        for task in running:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for task in list(self._publishes):
            with contextlib.suppress(Exception):
                await task
        await self.channel.stop()

    def run(self, invocation_id: str, tenant_id: str, producer: Producer) -> LiveStream:
        live = LiveStream(invocation_id, tenant_id)
        self._live[invocation_id] = live
        live.task = asyncio.create_task(self._guard(live, producer), name=f"stream-{invocation_id}")
        return live

    async def _guard(self, live: LiveStream, producer: Producer) -> None:
        try:
            await producer(live)
        finally:
            self._live.pop(live.invocation_id, None)
            live.done = True
            live.wake()  # readers still attached finish from the database

    def local(self, invocation_id: str, tenant_id: str) -> LiveStream | None:
        live = self._live.get(invocation_id)
        return live if live is not None and live.tenant_id == tenant_id else None

    def running(self) -> int:
        return len(self._live)

    async def wait_remote(self, invocation_id: str, timeout: float) -> None:
        """Until the channel says the stream has new stored events, or `timeout`."""
        event = self._remote.setdefault(invocation_id, asyncio.Event())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout)

    async def cancel(self, invocation_id: str, tenant_id: str) -> None:
        live = self.local(invocation_id, tenant_id)
        if live is not None:
            self._cancel_local(live)
            return
        await self.channel.publish("c", invocation_id)

    def _cancel_local(self, live: LiveStream) -> None:
        live.cancel_requested = True
        if live.task is not None and not live.task.done():
            live.task.cancel()

    def committed(self, rows: Sequence[dict[str, Any]]) -> None:
        """The recorder committed these stream events: tell the other replicas."""
        if self.channel.name == "in-process":
            return  # one process: local readers follow the buffer
        last: dict[str, int] = {}
        for row in rows:
            last[row["invocation_id"]] = max(last.get(row["invocation_id"], -1), row["seq"])
        for invocation_id, seq in last.items():
            task = asyncio.create_task(self.channel.publish("e", invocation_id, seq))
            self._publishes.add(task)
            task.add_done_callback(self._published)

    def _published(self, task: asyncio.Task[None]) -> None:
        self._publishes.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("stream_notify_failed", error_type=type(task.exception()).__name__)

    def _on_message(self, kind: str, invocation_id: str, _seq: int) -> None:
        if kind == "e":
            event = self._remote.pop(invocation_id, None)
            if event is not None:
                event.set()
        elif kind == "c":
            live = self._live.get(invocation_id)
            if live is not None:
                self._cancel_local(live)

"""Stream notifications between API replicas: "stream X has events up to seq N" and "cancel
stream X". Readers wake on them instead of polling; the replica that runs a stream's agent
call acts on a cancel.

- In one process (the embedded default): delivered in process.
- PostgreSQL: `LISTEN/NOTIFY` on one dedicated connection per process (asyncpg).
- Redis, when `AGENTRY_REDIS_URL` is set: one pub/sub channel.

A notification is a hint: readers re-read the stored events, so a lost one costs a fallback
poll interval (`RESUME_FALLBACK_S`), never an event.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any, Protocol

from agentry.kit.logging import get_logger

CHANNEL = "agentry_streams"
log = get_logger("agentry.invocations.channel")
Handler = Callable[[str, str, int], None]  # (kind "e" | "c", invocation id, seq)


def encode(kind: str, invocation_id: str, seq: int = 0) -> str:
    return f"{kind}:{invocation_id}:{seq}"


def decode(message: str) -> tuple[str, str, int] | None:
    try:
        kind, invocation_id, seq = message.split(":")
        return kind, invocation_id, int(seq)
    except ValueError:
        return None


class Channel(Protocol):
    name: str

    async def start(self, handler: Handler) -> None: ...

    async def publish(self, kind: str, invocation_id: str, seq: int = 0) -> None: ...

    async def stop(self) -> None: ...


class LocalChannel:
    """The embedded default: one process, so a publish is a direct call."""

    name = "in-process"

    def __init__(self) -> None:
        self._handler: Handler | None = None

    async def start(self, handler: Handler) -> None:
        self._handler = handler

    async def publish(self, kind: str, invocation_id: str, seq: int = 0) -> None:
        if self._handler is not None:
            self._handler(kind, invocation_id, seq)

    async def stop(self) -> None:
        self._handler = None


class PostgresChannel:
    name = "postgresql"

    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self._conn: Any = None
        self._lock = asyncio.Lock()

    async def start(self, handler: Handler) -> None:
        import asyncpg

        def on_notify(_conn: Any, _pid: int, _channel: str, payload: str) -> None:
            found = decode(payload)
            if found is not None:
                handler(*found)

        self._conn = await asyncpg.connect(self._dsn)
        await self._conn.add_listener(CHANNEL, on_notify)

    async def publish(self, kind: str, invocation_id: str, seq: int = 0) -> None:
        if self._conn is None:
            return
        async with self._lock:  # one connection: one query at a time
            await self._conn.execute(
                "SELECT pg_notify($1, $2)", CHANNEL, encode(kind, invocation_id, seq)
            )

    async def stop(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await self._conn.close()
            self._conn = None


class RedisChannel:
    name = "redis"

    def __init__(self, url: str) -> None:
        import redis.asyncio as aioredis

        self._redis = aioredis.Redis.from_url(url)
        self._pubsub: Any = None
        self._task: asyncio.Task[None] | None = None

    async def start(self, handler: Handler) -> None:
        self._pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        await self._pubsub.subscribe(CHANNEL)

        async def listen() -> None:
            while True:
                try:
                    message = await self._pubsub.get_message(timeout=1.0)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # reconnects on the next call
                    log.warning("stream_channel_error", error_type=type(exc).__name__)
                    await asyncio.sleep(1.0)
                    continue
                if message and message.get("type") == "message":
                    data = message["data"]
                    found = decode(data.decode() if isinstance(data, bytes) else str(data))
                    if found is not None:
                        handler(*found)

        self._task = asyncio.create_task(listen(), name="stream-channel")

    async def publish(self, kind: str, invocation_id: str, seq: int = 0) -> None:
        await self._redis.publish(CHANNEL, encode(kind, invocation_id, seq))

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        if self._pubsub is not None:
            with contextlib.suppress(Exception):
                await self._pubsub.aclose()
        with contextlib.suppress(Exception):
            await self._redis.aclose()


def build_channel(database_url: str, redis_url: str) -> Channel:
    if redis_url:
        return RedisChannel(redis_url)
    if database_url.startswith("postgresql"):
        return PostgresChannel(database_url.replace("postgresql+asyncpg://", "postgresql://", 1))
    return LocalChannel()

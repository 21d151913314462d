"""The stream channel over each backend: a notification published by one process's channel
reaches another's (two channels stand for two API replicas), and the hub acts on it."""

from __future__ import annotations

import asyncio

import pytest

from agentry.invocations.channel import (
    Channel,
    LocalChannel,
    PostgresChannel,
    RedisChannel,
    decode,
    encode,
)
from agentry.invocations.streams import StreamHub
from tests.conftest import require_postgres
from tests.quotas.conftest import require_redis


def test_messages_round_trip_and_garbage_is_ignored() -> None:
    assert decode(encode("e", "inv_1", 7)) == ("e", "inv_1", 7)
    assert decode("nonsense") is None
    assert decode("e:inv_1:x") is None


async def _two(make: type[Channel], url: str) -> None:
    got: asyncio.Queue[tuple[str, str, int]] = asyncio.Queue()
    a, b = make(url), make(url)  # type: ignore[call-arg]
    await a.start(lambda *m: None)
    await b.start(lambda *m: got.put_nowait(m))
    try:
        for _ in range(50):  # the subscriber may need a moment
            await a.publish("e", "inv_x", 3)
            try:
                message = await asyncio.wait_for(got.get(), 0.2)
                break
            except TimeoutError:
                continue
        else:
            raise AssertionError("no notification crossed")
        assert message == ("e", "inv_x", 3)
    finally:
        await a.stop()
        await b.stop()


@pytest.mark.postgres
async def test_postgres_listen_notify_crosses_connections() -> None:
    await _two(PostgresChannel, require_postgres())  # type: ignore[type-abstract]


async def test_redis_pubsub_crosses_connections() -> None:
    await _two(RedisChannel, require_redis())  # type: ignore[type-abstract]


async def test_a_cancel_message_cancels_the_local_call_and_wakes_remote_readers() -> None:
    hub = StreamHub(LocalChannel())
    await hub.start()
    started = asyncio.Event()

    async def producer(_live: object) -> None:
        started.set()
        await asyncio.sleep(30)

    live = hub.run("inv_a", "ten_a", producer)  # type: ignore[arg-type]
    await started.wait()
    waiting = asyncio.create_task(hub.wait_remote("inv_b", 5))
    await asyncio.sleep(0)
    await hub.channel.publish("e", "inv_b", 1)
    await asyncio.wait_for(waiting, 1)  # woke before its timeout
    await hub.channel.publish("c", "inv_a")
    assert live.task is not None
    with pytest.raises(asyncio.CancelledError):
        await live.task
    assert live.cancel_requested
    assert hub.local("inv_a", "ten_a") is None
    await hub.stop()

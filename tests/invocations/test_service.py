"""`InvocationService._follow`: how a reader of a stream started on this replica gets its events."""

from __future__ import annotations

import asyncio
from typing import Any

from agentry.identity.principal import ROLE_SCOPES, Principal, Role
from agentry.invocations.channel import LocalChannel
from agentry.invocations.service import InvocationService
from agentry.invocations.streams import LiveStream, StreamHub


class _Service:
    """What `_follow` uses of the service; the database is what the test watches."""

    def __init__(self, hub: StreamHub) -> None:
        self._streams = hub
        self._stream_timeout_s = 60.0
        self._lease_margin_s = 5.0
        self.reads: list[int] = []

    async def _events_after(
        self, principal: Principal, invocation_id: str, after: int, limit: int = 500
    ) -> list[tuple[int, str, str, float]]:
        self.reads.append(after)
        return []

    async def _last_event(self, principal: Principal, invocation_id: str) -> None:
        return None


def _sse(seq: int, event: str) -> dict[str, str]:
    return {"id": str(seq), "event": event, "data": "{}"}


async def _read(service: _Service, principal: Principal, invocation_id: str) -> list[str]:
    follow: Any = InvocationService._follow
    return [sse["event"] async for sse in follow(service, principal, invocation_id, -1)]


async def test_a_reader_gets_the_end_from_the_buffer_after_the_call_left_the_hub() -> None:
    # The producer pushes its terminal event and finishes before the reader wakes: the reader
    # still reads it from the buffer it holds, not from the database.
    hub = StreamHub(LocalChannel())
    principal = Principal("ten_a", "t", "basic", Role.member, ROLE_SCOPES[Role.member])
    service = _Service(hub)
    release = asyncio.Event()

    async def produce(live: LiveStream) -> None:
        live.push(0, _sse(0, "start"))
        await release.wait()
        live.push(1, _sse(1, "chunk"))
        live.push(2, _sse(2, "end"))

    hub.run("inv_1", principal.tenant_id, produce)
    reader = asyncio.create_task(_read(service, principal, "inv_1"))
    await asyncio.sleep(0.01)  # the reader has the start event and waits for more
    release.set()
    assert await asyncio.wait_for(reader, 2) == ["start", "chunk", "end"]
    assert hub.local("inv_1", principal.tenant_id) is None
    assert service.reads == []


async def test_a_call_that_ended_without_a_terminal_event_is_read_from_the_database() -> None:
    hub = StreamHub(LocalChannel())
    principal = Principal("ten_a", "t", "basic", Role.member, ROLE_SCOPES[Role.member])
    service = _Service(hub)
    service._stream_timeout_s = service._lease_margin_s = -1.0  # give up at once

    async def produce(live: LiveStream) -> None:
        live.push(0, _sse(0, "start"))
        await asyncio.sleep(0.01)  # then dies without storing an end

    hub.run("inv_2", principal.tenant_id, produce)
    events = await asyncio.wait_for(_read(service, principal, "inv_2"), 2)
    assert events == ["start", "error"]  # "The stream stopped without an end event."
    assert service.reads[0] == 0

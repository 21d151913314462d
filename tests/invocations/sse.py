"""Reading platform streams with a real SSE client (httpx-sse)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import httpx
from httpx_sse import connect_sse


@dataclass
class Event:
    id: str
    event: str
    data: str
    at: float

    @property
    def json(self) -> Any:
        return json.loads(self.data)


@dataclass
class StreamResult:
    status: int
    headers: httpx.Headers
    events: list[Event]

    @property
    def kinds(self) -> list[str]:
        return [e.event for e in self.events]


def read_stream(
    client: httpx.Client, method: str, url: str, *, limit: int | None = None, **kwargs: Any
) -> StreamResult:
    """All events (or the first `limit`, then hang up) with their arrival times."""
    started = time.perf_counter()
    events: list[Event] = []
    with connect_sse(client, method, url, **kwargs) as source:
        response = source.response
        if response.status_code != 200:
            response.read()
            return StreamResult(response.status_code, response.headers, [])
        for sse in source.iter_sse():
            events.append(Event(sse.id, sse.event, sse.data, time.perf_counter() - started))
            if limit is not None and len(events) >= limit:
                break
    return StreamResult(response.status_code, response.headers, events)


def stream(client: httpx.Client, body: dict[str, Any], **kwargs: Any) -> StreamResult:
    return read_stream(client, "POST", "/v1/agents/echo/stream", json=body, **kwargs)


def resume(client: httpx.Client, invocation_id: str, last_event_id: str | None) -> StreamResult:
    headers = {"Last-Event-ID": last_event_id} if last_event_id is not None else {}
    return read_stream(client, "GET", f"/v1/streams/{invocation_id}", headers=headers)

"""A pooled HTTP/1.1 client for one short hop: a sync call to a local session process.

aiohttp's client machinery (request and response objects, header multidicts, payload
writers, timers) was the largest Python cost of a sync call after the platform's own checks
(docs/benchmarks.md). A session process is a known HTTP/1.1 server on loopback, so this
client writes the request in one buffer and parses the answer with httptools (the parser
uvicorn uses) over keep-alive connections. Streams stay on aiohttp.

Errors: `HopConnectError` when nothing was sent (the connection was refused: the caller may
try another address); `HopError` when the connection broke after the request was written.
A connection goes back to the pool only after a complete answer the server keeps alive; one
idle for longer than `idle_s` (below uvicorn's 5 s keep-alive) is closed, not reused.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import cast
from urllib.parse import urlsplit

import httptools


class HopError(Exception):
    """The connection broke after the request was (perhaps) sent. `like`: the aiohttp error
    the same failure raised, which the messages callers build keep naming."""

    like = "ServerDisconnectedError"


class HopConnectError(HopError):
    """The connection could not be opened: nothing was sent."""

    like = "ClientConnectorError"


class HopBadResponse(HopError):
    like = "ClientResponseError"


class HopResponse:
    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers  # names lower-cased; a repeated header keeps its last value
        self.body = body


class _Connection(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.idle_since = 0.0
        self._parser = httptools.HttpResponseParser(self)
        self._waiter: asyncio.Future[HopResponse] | None = None
        self._headers: dict[str, str] = {}
        self._body: list[bytes] = []

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not subclasses of asyncio.Transport: no isinstance check.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(HopBadResponse(f"bad response ({exc})"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._fail(HopError("the server closed the connection"))

    # httptools callbacks

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        waiter, self._waiter = self._waiter, None
        response = HopResponse(self._parser.get_status_code(), self._headers, b"".join(self._body))
        self._headers, self._body = {}, []
        if not self._parser.should_keep_alive():
            self.close()
        if waiter is not None and not waiter.done():
            waiter.set_result(response)

    # use

    def send(self, request: bytes) -> asyncio.Future[HopResponse]:
        assert self.transport is not None
        assert self._waiter is None
        self._waiter = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return self._waiter

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def _fail(self, exc: HopError) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)
        self.close()


class HopPool:
    """Keep-alive connections per (host, port), at most `size` idle per address."""

    def __init__(self, *, size: int = 64, idle_s: float = 4.0) -> None:
        self._size = size
        self._idle_s = idle_s
        self._idle: dict[tuple[str, int], deque[_Connection]] = {}
        self._addresses: dict[str, tuple[str, int, bytes]] = {}

    async def post(self, url: str, headers: dict[str, str], body: bytes) -> HopResponse:
        host, port, head = self._address(url)
        lines = [head, b"Content-Length: %d\r\n" % len(body)]
        for name, value in headers.items():
            lines.append(f"{name}: {value}\r\n".encode("latin-1"))
        lines.append(b"\r\n")
        lines.append(body)
        request = b"".join(lines)
        conn = self._take((host, port)) or await self._open(host, port)
        try:
            response = await conn.send(request)
        except BaseException:
            conn.close()  # an answer may still arrive on it: never reuse it
            raise
        if not conn.closed:
            self._give((host, port), conn)
        return response

    def close(self) -> None:
        for idle in self._idle.values():
            for conn in idle:
                conn.close()
        self._idle.clear()

    def _address(self, url: str) -> tuple[str, int, bytes]:
        found = self._addresses.get(url)
        if found is None:
            parts = urlsplit(url)
            if parts.scheme != "http" or parts.hostname is None:
                raise ValueError(f"not a plain http URL: {url}")
            port = parts.port or 80
            path = parts.path or "/"
            head = f"POST {path} HTTP/1.1\r\nHost: {parts.hostname}:{port}\r\n".encode("latin-1")
            found = self._addresses[url] = (parts.hostname, port, head)
        return found

    def _take(self, key: tuple[str, int]) -> _Connection | None:
        idle = self._idle.get(key)
        now = time.monotonic()
        while idle:
            conn = idle.pop()
            if not conn.closed and now - conn.idle_since < self._idle_s:
                return conn
            conn.close()
        return None

    def _give(self, key: tuple[str, int], conn: _Connection) -> None:
        idle = self._idle.setdefault(key, deque())
        if len(idle) >= self._size:
            conn.close()
            return
        conn.idle_since = time.monotonic()
        idle.append(conn)

    async def _open(self, host: str, port: int) -> _Connection:
        loop = asyncio.get_running_loop()
        try:
            _, conn = await loop.create_connection(_Connection, host, port)
        except OSError as exc:
            raise HopConnectError(f"cannot connect to {host}:{port} ({exc})") from exc
        return conn

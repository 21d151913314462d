"""The pooled HTTP/1.1 hop (runtime/hop.py) against a real loopback server."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from agentry.runtime.hop import HopConnectError, HopError, HopPool

Answer = Callable[[bytes, asyncio.StreamWriter], Awaitable[bool]]  # False: close after it


class Server:
    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.connections = 0
        self.requests: list[bytes] = []
        self.server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/invocations"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    int(line.split(b":", 1)[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                )
                self.requests.append(head + await reader.readexactly(length))
                if not await self.answer(head, writer):
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[Answer], Awaitable[Server]]]:
    servers: list[Server] = []

    async def start(answer: Answer) -> Server:
        server = Server(answer)
        server.server = await asyncio.start_server(server._handle, "127.0.0.1", 0)
        servers.append(server)
        return server

    yield start
    for server in servers:
        assert server.server is not None
        server.server.close()


async def _ok(_head: bytes, writer: asyncio.StreamWriter) -> bool:
    writer.write(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
    )
    await writer.drain()
    return True


async def test_answers_reuse_one_kept_alive_connection(
    serve: Callable[..., Awaitable[Server]],
) -> None:
    server = await serve(_ok)
    pool = HopPool()
    try:
        for body in (b'{"a":1}', b'{"b":2}', b""):
            resp = await pool.post(server.url, {"X-Request-Id": "r1"}, body)
            assert (resp.status, resp.body) == (200, b"{}")
            assert resp.headers["content-type"] == "application/json"
    finally:
        pool.close()
    assert server.connections == 1
    first = server.requests[0]
    assert first.startswith(b"POST /invocations HTTP/1.1\r\nHost: 127.0.0.1:")
    assert b"\r\nContent-Length: 7\r\n" in first
    assert b"\r\nX-Request-Id: r1\r\n" in first
    assert first.endswith(b'\r\n\r\n{"a":1}')


async def test_a_chunked_answer_and_connection_close(
    serve: Callable[..., Awaitable[Server]],
) -> None:
    async def chunked(_head: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(
            b"HTTP/1.1 500 Internal Server Error\r\nTransfer-Encoding: chunked\r\n"
            b"Connection: close\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
        )
        await writer.drain()
        return False

    server = await serve(chunked)
    pool = HopPool()
    try:
        for _ in range(2):
            resp = await pool.post(server.url, {}, b"{}")
            assert (resp.status, resp.body) == (500, b"abcde")
    finally:
        pool.close()
    assert server.connections == 2  # "Connection: close" is not reused


async def test_a_server_that_drops_the_call_and_one_that_refuses(
    serve: Callable[..., Awaitable[Server]],
) -> None:
    async def drop(_head: bytes, _writer: asyncio.StreamWriter) -> bool:
        return False

    server = await serve(drop)
    pool = HopPool()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        refused = f"http://127.0.0.1:{s.getsockname()[1]}/invocations"  # bound, not listening
    try:
        with pytest.raises(HopError) as dropped:
            await pool.post(server.url, {}, b"{}")
        assert not isinstance(dropped.value, HopConnectError)
        with pytest.raises(HopConnectError):
            await pool.post(refused, {}, b"{}")
    finally:
        pool.close()


async def test_idle_connections_expire_and_a_cancelled_call_is_not_reused(
    serve: Callable[..., Awaitable[Server]],
) -> None:
    async def slow(head: bytes, writer: asyncio.StreamWriter) -> bool:
        if b"X-Slow" in head:
            await asyncio.sleep(0.3)
        return await _ok(head, writer)

    server = await serve(slow)
    pool = HopPool(idle_s=0.05)
    try:
        await pool.post(server.url, {}, b"{}")
        await asyncio.sleep(0.1)
        await pool.post(server.url, {}, b"{}")  # the idle one had expired
        assert server.connections == 2
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.05):
                await pool.post(server.url, {"X-Slow": "1"}, b"{}")
        resp = await pool.post(server.url, {}, b"{}")  # a fresh connection, not the late answer
        assert resp.status == 200
        assert server.connections == 3
    finally:
        pool.close()


def test_under_uvloop_as_the_api_runs() -> None:
    uvloop = pytest.importorskip("uvloop")

    async def calls() -> int:
        server = Server(_ok)
        server.server = await asyncio.start_server(server._handle, "127.0.0.1", 0)
        pool = HopPool()
        try:
            for _ in range(3):
                assert (await pool.post(server.url, {}, b"{}")).status == 200
        finally:
            pool.close()
            server.server.close()
        return server.connections

    assert uvloop.run(calls()) == 1

"""The SSE relay both runtime paths share (LocalRuntime to a session process, AgentCoreRuntime
through the data-plane API): parse an agent's `text/event-stream` answer into `data`
frames and relay them under the call's deadline."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Protocol

import aiohttp

from agentry.runtime.base import AgentTimeout, RuntimeUnavailable


def connection_error(exc: BaseException) -> RuntimeUnavailable:
    return RuntimeUnavailable(f"runtime connection failed ({type(exc).__name__})")


class ByteSource(Protocol):
    def iter_any(self) -> AsyncIterator[bytes]: ...


async def iter_sse_data(content: ByteSource) -> AsyncIterator[bytes]:
    """Yield each SSE event's `data` (multi-line data joined by \\n), LF or CRLF framed."""
    buffer = b""
    data: list[bytes] = []
    async for chunk in content.iter_any():
        buffer += chunk
        while True:
            newline = buffer.find(b"\n")
            if newline < 0:
                break
            line = buffer[:newline]
            buffer = buffer[newline + 1 :]
            if line.endswith(b"\r"):
                line = line[:-1]
            if not line:
                if data:
                    yield b"\n".join(data)
                    data = []
            elif line.startswith(b"data:"):
                value = line[5:]
                data.append(value[1:] if value.startswith(b" ") else value)
    if buffer.rstrip(b"\r").startswith(b"data:"):
        value = buffer.rstrip(b"\r")[5:]
        data.append(value[1:] if value.startswith(b" ") else value)
    if data:
        yield b"\n".join(data)


async def frames(resp: aiohttp.ClientResponse) -> AsyncGenerator[bytes, None]:
    """SSE data frames of a response; a JSON (non-stream) answer is one frame."""
    if resp.headers.get("Content-Type", "").startswith("text/event-stream"):
        async for frame in iter_sse_data(resp.content):
            yield frame
    else:
        yield await resp.read()


async def relay_frames(
    resp: aiohttp.ClientResponse, deadline: float, timeout: float
) -> AsyncIterator[bytes]:
    """Frames of `resp` until `deadline` (loop time); releases the response at the end.

    The timeout wraps each read, never a `yield`, so it cannot fire inside the consumer.
    """
    source = frames(resp)
    try:
        while True:
            try:
                async with asyncio.timeout_at(deadline):
                    frame = await anext(source)
            except StopAsyncIteration:
                return
            except TimeoutError as exc:
                raise AgentTimeout(f"stream did not finish within {timeout:g}s") from exc
            except aiohttp.ClientError as exc:
                raise connection_error(exc) from exc
            yield frame
    finally:
        await source.aclose()
        resp.release()

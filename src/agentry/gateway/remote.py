"""External MCP servers, reached with the `mcp` SDK client over streamable HTTP.

`list_remote_tools` opens a short-lived client (registration, refresh). `RemoteServer` keeps
one long-lived client per target for calls: a fresh client costs a protocol negotiation per
call (~40 ms here against ~3.5 ms for a call on an open one, see docs/tool-gateway.md). The
client's task groups must be entered and left by one task, so each client lives in a task of
its own; calls from request tasks share it. Any transport failure or timeout closes it and
the next call connects again. Nothing here logs headers: they may carry the credential.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx2
from mcp import Client, types
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.shared.exceptions import MCPError
from mcp_types import CONNECTION_CLOSED, INTERNAL_ERROR, REQUEST_TIMEOUT

from agentry.kit.logging import get_logger

MAX_PAGES = 20
UNAVAILABLE_CODES = frozenset({CONNECTION_CLOSED, REQUEST_TIMEOUT, INTERNAL_ERROR})
log = get_logger("agentry.gateway.remote")
Guard = Callable[[str], Awaitable[object]]


class TargetUnavailable(Exception):
    """The remote could not be reached, broke the protocol or did not answer in time."""


class RemoteToolError(Exception):
    """The remote answered a call with a JSON-RPC error (it is up; the call failed there)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


TARGET_UNAVAILABLE = -32004


def rpc_error(exc: TargetUnavailable | RemoteToolError) -> tuple[int, str, dict[str, str]]:
    """JSON-RPC (code, message, data) for the agent: which target failed and why."""
    if isinstance(exc, TargetUnavailable):
        return (
            TARGET_UNAVAILABLE,
            "Tool target unavailable",
            {"code": "tool_target_unavailable", "reason": str(exc)},
        )
    return exc.code, exc.message, {"code": "tool_target_error", "reason": exc.message}


@dataclass(frozen=True)
class Endpoint:
    url: str
    timeout_s: float
    headers: dict[str, str] = field(default_factory=dict, repr=False)


def describe(exc: BaseException) -> str:
    """A short reason without headers: the first leaf of an exception group."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    if isinstance(exc, TimeoutError):
        return "timed out"
    text = str(exc).splitlines()[0][:200] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _client(endpoint: Endpoint) -> tuple[httpx2.AsyncClient, Client]:
    http = create_mcp_http_client(
        headers=endpoint.headers, timeout=httpx2.Timeout(endpoint.timeout_s)
    )
    client = Client(
        streamable_http_client(endpoint.url, http_client=http),
        read_timeout_seconds=endpoint.timeout_s,
    )
    return http, client


async def list_remote_tools(endpoint: Endpoint) -> list[types.Tool]:
    """All tools the server lists (every page), or `TargetUnavailable`."""
    try:
        async with asyncio.timeout(endpoint.timeout_s):
            http, client = _client(endpoint)
            async with http, client:
                tools: list[types.Tool] = []
                cursor: str | None = None
                for _ in range(MAX_PAGES):
                    page = await client.list_tools(cursor=cursor, cache_mode="refresh")
                    tools += page.tools
                    cursor = page.next_cursor
                    if cursor is None:
                        return tools
    except Exception as exc:
        raise TargetUnavailable(describe(exc)) from exc
    raise TargetUnavailable(f"more than {MAX_PAGES} pages of tools")


def result_dict(result: types.CallToolResult) -> dict[str, Any]:
    """The parts of a `CallToolResult` the gateway passes back to the agent."""
    dumped = result.model_dump(by_alias=True, exclude_none=True, mode="json")
    return {k: dumped[k] for k in ("content", "structuredContent", "isError") if k in dumped}


class RemoteServer:
    def __init__(self, endpoint: Endpoint, guard: Guard) -> None:
        self.endpoint = endpoint
        self._guard = guard  # re-checks the URL (SSRF rules) before every connect
        self._client: Client | None = None
        self._holder: asyncio.Task[None] | None = None
        self._stop: asyncio.Event | None = None
        self._lock = asyncio.Lock()

    async def call(self, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
        try:
            async with asyncio.timeout(self.endpoint.timeout_s):
                client = await self._connected()
                result = await client.call_tool(tool, arguments)
        except MCPError as exc:
            # The transport also reports a lost connection, a timeout or an HTTP 5xx as an
            # MCPError; those mean the target is unavailable. Either way start afresh (a
            # stale session of a restarted server answers "Session terminated").
            await self.aclose()
            if exc.code in UNAVAILABLE_CODES:
                raise TargetUnavailable(describe(exc)) from exc
            raise RemoteToolError(exc.code, exc.message) from exc
        except Exception as exc:
            await self.aclose()
            raise TargetUnavailable(describe(exc)) from exc
        return result_dict(result)

    async def _connected(self) -> Client:
        async with self._lock:
            if self._client is not None and self._holder is not None and not self._holder.done():
                return self._client
            await self._close_locked()
            await self._guard(self.endpoint.url)
            ready: asyncio.Future[Client] = asyncio.get_running_loop().create_future()
            # Retrieved either way, so a late failure is not reported as "never retrieved".
            ready.add_done_callback(lambda f: f.cancelled() or f.exception())
            self._stop = asyncio.Event()
            self._holder = asyncio.create_task(self._hold(ready, self._stop), name="mcp-target")
            try:
                self._client = await asyncio.shield(ready)
            except BaseException:
                await self._close_locked()
                raise
            return self._client

    async def _hold(self, ready: asyncio.Future[Client], stop: asyncio.Event) -> None:
        try:
            http, client = _client(self.endpoint)
            async with http, client:
                ready.set_result(client)
                await stop.wait()
        except asyncio.CancelledError:
            ready.cancel()
        except Exception as exc:  # the connection broke; the next call reconnects
            if not ready.done():
                ready.set_exception(exc)
            else:
                log.warning("tool_target_connection_closed", reason=describe(exc))

    async def aclose(self) -> None:
        async with self._lock:
            await self._close_locked()

    async def _close_locked(self) -> None:
        holder, stop = self._holder, self._stop
        self._client = self._holder = self._stop = None
        if holder is None or stop is None:
            return
        stop.set()
        await asyncio.wait({holder}, timeout=5)
        if not holder.done():
            holder.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await holder

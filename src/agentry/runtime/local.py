"""LocalRuntime: the short hot path to the local emulator's session processes.

The emulator is asked once per (runtime, qualifier, session) for the session process's URL
(`POST /_local/sessions`); calls then go straight to `<url>/invocations` with the headers an
AgentCore container receives. Activity is reported to the emulator in batches
(`POST /_local/touch`, every ~2 s) so its reaper sees these calls as they happen.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Mapping
from typing import Any

import aiohttp

from agentry.config import Settings, get_settings
from agentry.kit import tracing
from agentry.kit.logging import get_logger
from agentry.runtime.agentcore import AgentCoreRuntime, error_from_response
from agentry.runtime.base import (
    REQUEST_ID_HEADER,
    SESSION_HEADER,
    AgentFailed,
    AgentTimeout,
    InvokeResult,
    RuntimeTarget,
    RuntimeUnavailable,
    agent_error,
)
from agentry.runtime.emulator.host import MISMATCH_HEADER
from agentry.runtime.hop import HopConnectError, HopError, HopPool, HopResponse
from agentry.runtime.sse import connection_error, relay_frames

log = get_logger("agentry.runtime.local")

CacheKey = tuple[str, str, str]
TOUCH_INTERVAL_S = 2.0


def _agent_error(status: int, body: bytes) -> AgentFailed:
    """The SDK answers `{"error": <text>}`; `agent_error` decides what the caller sees."""
    message: str | None = None
    try:
        parsed = json.loads(body)
    except ValueError:
        message = body.decode("utf-8", "replace")[:2000] or None
    else:
        if isinstance(parsed, dict) and isinstance(parsed.get("error"), str):
            message = parsed["error"]
        else:
            message = json.dumps(parsed)[:2000]
    return agent_error(status, message, extra={"agent_status": status})


# The call's own deadline is the caller's asyncio timeout; one object, not one per call.
_CALL_TIMEOUT = aiohttp.ClientTimeout(total=None, sock_connect=10)


class LocalRuntime:
    """`AgentRuntime` that calls session processes of the local emulator directly."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        base_url: str | None = None,
        pool_size: int = 512,
        touch_interval_s: float = TOUCH_INTERVAL_S,
    ) -> None:
        self.settings = settings or get_settings()
        self.base_url = (base_url or self.settings.runtime_url).rstrip("/")
        self._pool_size = pool_size
        self._touch_interval_s = touch_interval_s
        self._http: aiohttp.ClientSession | None = None
        self._hop = HopPool()  # sync calls; streams use aiohttp
        self._urls: dict[CacheKey, str] = {}
        self._resolving: dict[CacheKey, asyncio.Task[str]] = {}
        self._touched: set[tuple[str, str]] = set()
        self._inflight: dict[tuple[str, str], int] = {}
        self._flusher: asyncio.Task[None] | None = None
        # Stop goes through the emulator's AgentCore route (same process, same semantics).
        self._agentcore = AgentCoreRuntime(
            self.settings, base_url=self.base_url, sign_requests=False
        )

    # lifecycle

    async def start(self) -> None:
        if self._http is None:
            connector = aiohttp.TCPConnector(limit=self._pool_size, keepalive_timeout=30)
            self._http = aiohttp.ClientSession(connector=connector, auto_decompress=False)
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush_loop(), name="local-runtime-touch")

    async def aclose(self) -> None:
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
            self._flusher = None
        with contextlib.suppress(Exception):
            await self.flush_touches()
        await self._agentcore.aclose()
        if self._http is not None:
            await self._http.close()
            self._http = None
        self._hop.close()

    async def _client(self) -> aiohttp.ClientSession:
        if self._http is None:
            await self.start()
        assert self._http is not None
        return self._http

    # session resolution

    async def resolve(self, target: RuntimeTarget, session_id: str) -> str:
        """The URL of the session's process, asking the emulator on a cache miss."""
        key = (target.runtime_arn, target.qualifier, session_id)
        url = self._urls.get(key)
        if url is not None:
            return url
        task = self._resolving.get(key)
        if task is None:
            task = asyncio.create_task(self._resolve(key))
            self._resolving[key] = task
            task.add_done_callback(lambda _t: self._resolving.pop(key, None))
        return await asyncio.shield(task)

    async def _resolve(self, key: CacheKey) -> str:
        http = await self._client()
        body = {"runtimeArn": key[0], "qualifier": key[1], "sessionId": key[2]}
        timeout = aiohttp.ClientTimeout(total=self.settings.runtime_startup_timeout_s + 30)
        try:
            async with http.post(
                f"{self.base_url}/_local/sessions", json=body, timeout=timeout
            ) as resp:
                if resp.status >= 300:
                    raise await error_from_response(resp)
                data: dict[str, Any] = await resp.json()
        except aiohttp.ClientError as exc:
            raise connection_error(exc) from exc
        except TimeoutError as exc:
            raise RuntimeUnavailable("the local runtime did not answer") from exc
        url = str(data["url"])
        self._urls[key] = url
        return url

    def forget(self, target: RuntimeTarget, session_id: str) -> None:
        self._urls.pop((target.runtime_arn, target.qualifier, session_id), None)

    # activity

    def _begin(self, target: RuntimeTarget, session_id: str) -> tuple[str, str]:
        pair = (target.runtime_arn, session_id)
        self._inflight[pair] = self._inflight.get(pair, 0) + 1
        self._touched.add(pair)
        return pair

    def _end(self, pair: tuple[str, str]) -> None:
        left = self._inflight.get(pair, 0) - 1
        if left > 0:
            self._inflight[pair] = left
        else:
            self._inflight.pop(pair, None)
        self._touched.add(pair)

    async def flush_touches(self) -> None:
        pairs = self._touched | set(self._inflight)
        self._touched = set()
        if not pairs or self._http is None:
            return
        try:
            async with self._http.post(
                f"{self.base_url}/_local/touch",
                json={"sessions": [list(p) for p in pairs]},
                timeout=aiohttp.ClientTimeout(total=5),
            ) as resp:
                resp.raise_for_status()
        except (aiohttp.ClientError, TimeoutError):
            self._touched |= pairs  # try again next round
            log.warning("runtime.local.touch_failed", sessions=len(pairs))

    async def _flush_loop(self) -> None:
        while True:
            await asyncio.sleep(self._touch_interval_s)
            await self.flush_touches()

    # calls

    def _headers(
        self, session_id: str, request_id: str, accept: str, extra: Mapping[str, str] | None
    ) -> dict[str, str]:
        headers = {
            "Content-Type": "application/json",
            "Accept": accept,
            SESSION_HEADER: session_id,
            REQUEST_ID_HEADER: request_id or str(uuid.uuid4()),
        }
        if extra:
            headers.update(extra)
        tracing.inject(headers)  # the agent's spans join the caller's trace
        return headers

    async def _post(
        self,
        target: RuntimeTarget,
        session_id: str,
        payload: bytes,
        headers: dict[str, str],
    ) -> aiohttp.ClientResponse:
        """POST to the session process; re-resolve once if the cached process is gone."""
        http = await self._client()
        for attempt in (1, 2):
            url = await self.resolve(target, session_id)
            try:
                resp = await http.post(
                    f"{url}/invocations",
                    data=payload,
                    headers=headers,
                    timeout=_CALL_TIMEOUT,
                )
            except aiohttp.ClientConnectorError as exc:
                # Refused before anything was sent: the cached process was reaped or died.
                self.forget(target, session_id)
                if attempt == 2:
                    raise connection_error(exc) from exc
                continue
            except aiohttp.ClientError as exc:
                self.forget(target, session_id)
                raise RuntimeUnavailable(
                    f"Runtime session terminated ({type(exc).__name__})"
                ) from exc
            if resp.status == 409 and MISMATCH_HEADER in resp.headers:
                resp.release()
                self.forget(target, session_id)
                if attempt == 2:
                    raise RuntimeUnavailable("Runtime session terminated (stale session address)")
                continue
            if resp.status >= 300:
                try:
                    body = await resp.read()
                except aiohttp.ClientError as exc:
                    self.forget(target, session_id)
                    raise connection_error(exc) from exc
                finally:
                    resp.release()
                raise _agent_error(resp.status, body)
            return resp
        raise AssertionError("unreachable")

    async def _call(
        self,
        target: RuntimeTarget,
        session_id: str,
        payload: bytes,
        headers: dict[str, str],
    ) -> HopResponse:
        """`_post` for a sync call, over the pooled hop: the same retries and errors."""
        for attempt in (1, 2):
            url = await self.resolve(target, session_id)
            try:
                resp = await self._hop.post(f"{url}/invocations", headers, payload)
            except HopConnectError as exc:
                # Refused before anything was sent: the cached process was reaped or died.
                self.forget(target, session_id)
                if attempt == 2:
                    raise RuntimeUnavailable(f"runtime connection failed ({exc.like})") from exc
                continue
            except HopError as exc:
                self.forget(target, session_id)
                raise RuntimeUnavailable(f"Runtime session terminated ({exc.like})") from exc
            if resp.status == 409 and MISMATCH_HEADER.lower() in resp.headers:
                self.forget(target, session_id)
                if attempt == 2:
                    raise RuntimeUnavailable("Runtime session terminated (stale session address)")
                continue
            if resp.status >= 300:
                raise _agent_error(resp.status, resp.body)
            return resp
        raise AssertionError("unreachable")

    async def invoke(
        self,
        target: RuntimeTarget,
        session_id: str,
        payload: bytes,
        *,
        request_id: str,
        timeout: float,
        headers: Mapping[str, str] | None = None,
    ) -> InvokeResult:
        pair = self._begin(target, session_id)
        sent = self._headers(session_id, request_id, "application/json", headers)
        try:
            async with asyncio.timeout(timeout):
                resp = await self._call(target, session_id, payload, sent)
        except TimeoutError as exc:
            raise AgentTimeout(f"no answer within {timeout:g}s") from exc
        finally:
            self._end(pair)
        return InvokeResult(
            session_id=session_id,
            content_type=resp.headers.get("content-type", "application/json"),
            body=resp.body,
        )

    async def invoke_stream(
        self,
        target: RuntimeTarget,
        session_id: str,
        payload: bytes,
        *,
        request_id: str,
        timeout: float,
        headers: Mapping[str, str] | None = None,
    ) -> AsyncIterator[bytes]:
        pair = self._begin(target, session_id)
        sent = self._headers(session_id, request_id, "text/event-stream", headers)
        deadline = asyncio.get_running_loop().time() + timeout
        try:
            try:
                async with asyncio.timeout_at(deadline):
                    resp = await self._post(target, session_id, payload, sent)
            except TimeoutError as exc:
                raise AgentTimeout(f"no answer within {timeout:g}s") from exc
            try:
                async for frame in relay_frames(resp, deadline, timeout):
                    yield frame
            except RuntimeUnavailable:
                self.forget(target, session_id)
                raise
        finally:
            self._end(pair)

    async def stop_session(self, target: RuntimeTarget, session_id: str) -> None:
        self.forget(target, session_id)
        await self._agentcore.stop_session(target, session_id)

"""Invoking agents. The hot path: admit (quotas), resolve route, call runtime, record one row.

Sync answers once; stream relays each agent frame as an SSE event the moment it arrives and
stores every event (group-committed, like invocation rows) so a client can resume from any
replica with `Last-Event-ID`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

import anyio
import orjson
from opentelemetry.trace import Span, SpanKind
from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agentry.identity.principal import Principal
from agentry.invocations.context import AgentContext, Invocation, delegation_var
from agentry.invocations.idempotency import (
    Claim,
    Existing,
    IdempotencyInProgress,
    IdempotencyStore,
    request_hash,
)
from agentry.invocations.recorder import InvocationRecorder
from agentry.invocations.repository import StreamEventRepository
from agentry.invocations.schemas import InvokeRequest
from agentry.invocations.sessions import pooled_session_id, runtime_session_id
from agentry.invocations.streams import TERMINAL_EVENTS, LiveStream, StreamHub
from agentry.kit import tracing
from agentry.kit.clock import utcnow
from agentry.kit.context import request_id_var
from agentry.kit.errors import AgentryError, BadRequest, Conflict, NotFound
from agentry.kit.ids import new_id
from agentry.metering.service import RUNTIME_MS, Pricing, runtime_row
from agentry.models import Base, UsageEvent
from agentry.policy.gate import InvocationGate
from agentry.quotas import QuotaService, Slot
from agentry.registry.routing import Route, RouteCache
from agentry.runtime.base import (
    AgentFailed,
    AgentRuntime,
    AgentTimeout,
    RuntimeTarget,
    agent_error,
)

SESSION_POOL_SIZE = 2
INVOCATIONS = Counter(
    "agentry_invocations_total",
    "Invocations by tenant, agent, mode (sync, stream) and outcome",
    ["tenant", "agent", "mode", "outcome"],
)


RESUME_FALLBACK_S = 1.0  # a reader on another replica re-reads at least this often
CANCEL_WAIT_S = 5.0
RESUME_COMMIT_WAIT_S = 1.0  # a reconnect can beat the start event's group commit


class ModeNotSupported(BadRequest):
    code = "mode_not_supported"
    title = "The agent does not support this invocation mode"


class StreamNotFound(NotFound):
    code = "stream_not_found"
    title = "No such stream"


class InvalidLastEventId(BadRequest):
    code = "invalid_last_event_id"
    title = "Invalid Last-Event-ID"


class StreamCancelled(AgentryError):
    status_code = 499
    code = "stream_cancelled"
    title = "The stream was cancelled on request"


class StreamEnded(Conflict):
    code = "stream_ended"
    title = "The stream has already ended"


class StreamInterrupted(AgentryError):
    status_code = 503
    code = "stream_interrupted"
    title = "The stream stopped without an end event (its API process went away)"


# Failures after which the agent had run (and used its runtime): the runtime is billed.
AGENT_RAN = (AgentFailed, AgentTimeout, StreamCancelled, StreamInterrupted)


@dataclass(frozen=True, slots=True)
class Reply:
    """A finished sync answer: status, body and extra headers."""

    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StreamReply:
    """SSE events to send (dicts for sse-starlette), with headers for the response."""

    events: AsyncIterator[dict[str, str]]
    headers: dict[str, str]
    # Runs after the response, even if the events were never iterated (client gone at once).
    after: Callable[[], Awaitable[None]] | None = None


def problem_data(error: AgentryError, invocation_id: str) -> str:
    """An `error` event's data: the same problem shape as an HTTP error answer."""
    body: dict[str, Any] = {
        "type": f"https://agentry.dev/problems/{error.code}",
        "title": error.title,
        "status": error.status_code,
        "detail": error.detail,
        "code": error.code,
        "request_id": request_id_var.get(),
        **error.extra,
        "invocation_id": invocation_id,
    }
    return json.dumps(body, separators=(",", ":"))


def _agent_error_frame(frame: bytes) -> AgentFailed | None:
    """The SDK's mid-stream exception frame `{"error", "error_type", "message"}`, if it is one."""
    if not frame.startswith(b'{"error"'):
        return None
    try:
        parsed = json.loads(frame)
    except ValueError:
        return None
    if isinstance(parsed, dict) and "error_type" in parsed:
        return agent_error(None, str(parsed.get("message") or parsed.get("error")))
    return None


@dataclass(frozen=True, slots=True)
class SyncResult:
    invocation_id: str
    session_id: str
    route: Route
    output_json: bytes
    runtime_ms: int
    version_number: int

    def render(self) -> bytes:
        """The response body, built around the agent's JSON without parsing it again."""
        head = json.dumps(
            {
                "invocation_id": self.invocation_id,
                "session_id": self.session_id,
                "agent": self.route.agent_name,
                "version": self.version_number,
            },
            separators=(",", ":"),
        )
        usage = json.dumps({"runtime_ms": self.runtime_ms}, separators=(",", ":"))
        return b"".join(
            (
                head[:-1].encode(),
                b',"output":',
                self.output_json,
                b',"usage":',
                usage.encode(),
                b"}",
            )
        )


def _strict_json(raw: bytes) -> bytes:
    """`raw` when it is RFC 8259 JSON, else the text as a JSON string. Agents written with
    Python's json module can answer bare NaN/Infinity, which no JSON client can parse."""
    try:
        orjson.loads(raw)
    except orjson.JSONDecodeError:
        return orjson.dumps(raw.decode("utf-8", "replace"))
    return raw


def _output_json(content_type: str, body: bytes) -> bytes:
    if content_type.startswith("text/event-stream"):
        frames = [
            _strict_json(line[5:].strip())
            for line in body.replace(b"\r\n", b"\n").split(b"\n")
            if line.startswith(b"data:")
        ]
        return b"[" + b",".join(frames) + b"]"
    if not body.strip():
        return b"null"
    return _strict_json(body)


class InvocationService:
    def __init__(
        self,
        recorder: InvocationRecorder,
        runtime: AgentRuntime,
        routes: RouteCache,
        *,
        default_timeout_s: float,
        durable_records: bool,
        quotas: QuotaService | None = None,
        idempotency: IdempotencyStore | None = None,
        events: InvocationRecorder | None = None,
        maker: async_sessionmaker[AsyncSession] | None = None,
        stream_timeout_s: float = 3600.0,
        lease_margin_s: float = 30.0,
        agent_context: AgentContext | None = None,
        prices: Pricing | None = None,
        streams: StreamHub | None = None,
        gate: InvocationGate | None = None,
    ) -> None:
        self._recorder = recorder
        self._runtime = runtime
        self._routes = routes
        self._default_timeout_s = default_timeout_s
        self._durable_records = durable_records
        self._quotas = quotas
        self._idempotency = idempotency
        self._events = events
        self._maker = maker
        self._stream_timeout_s = stream_timeout_s
        self._lease_margin_s = lease_margin_s
        self._agent_context = agent_context
        self._prices = prices  # runtime is billed per call when a price book is given
        self._streams = streams
        self._gate = gate

    def sync_timeout(self, route: Route) -> float:
        """The agent's own limit (manifest `limits.sync_timeout_s`), capped by the platform's."""
        if route.sync_timeout_s is None:
            return self._default_timeout_s
        return min(route.sync_timeout_s, self._default_timeout_s)

    async def _admit(self, principal: Principal, body_size: int) -> None:
        if self._quotas is not None:
            await self._quotas.admit(principal, body_size)

    async def _route(self, principal: Principal, agent_name: str, alias: str, mode: str) -> Route:
        route = await self._routes.resolve(agent_name, alias)
        route.check_tier(principal.tier, principal.tenant_slug)
        if route.modes and mode not in route.modes:
            raise ModeNotSupported(f"Agent '{agent_name}' does not support {mode} invocation.")
        if self._gate is not None:
            await self._gate.admit(principal, route, mode, delegation_var.get())
        return route

    async def _slot(self, principal: Principal, ttl_s: float) -> Slot | None:
        if self._quotas is None:
            return None
        return await self._quotas.acquire_slot(principal, ttl_s=ttl_s)

    async def _release(self, slot: Slot | None) -> None:
        if slot is not None and self._quotas is not None:
            await self._quotas.release(slot)

    async def handle_invoke(
        self,
        principal: Principal,
        agent_name: str,
        req: InvokeRequest,
        *,
        body_size: int,
        idempotency_key: str | None,
        request_id: str,
    ) -> Reply:
        """Sync call with quotas and, when a key is sent, idempotency. No key: no extra I/O."""
        await self._admit(principal, body_size)
        route = await self._route(principal, agent_name, req.alias, "sync")
        timeout = self.sync_timeout(route)
        claim: Claim | None = None
        invocation_id = new_id("inv")
        if idempotency_key is not None and self._idempotency is not None:
            found = await self._idempotency.claim(
                principal,
                idempotency_key,
                request_hash("sync", agent_name, req.model_dump(mode="json")),
                invocation_id=invocation_id,
                running_s=timeout + self._lease_margin_s,
            )
            if isinstance(found, Existing):
                if not found.done or found.body is None:
                    raise IdempotencyInProgress(
                        "The first request with this key is still running; retry later.",
                        headers={"Retry-After": "1"},
                        extra={"invocation_id": found.invocation_id},
                    )
                return Reply(found.status or 200, found.body, {"Idempotent-Replayed": "true"})
            claim = found
        try:
            slot = await self._slot(principal, timeout)
            try:
                result = await self.invoke_sync(
                    principal,
                    agent_name,
                    req,
                    request_id=request_id,
                    route=route,
                    invocation_id=invocation_id,
                )
            finally:
                await self._release(slot)
        except BaseException:
            if claim is not None and self._idempotency is not None:
                await asyncio.shield(self._idempotency.abandon(principal, claim))
            raise
        body = result.render()
        if claim is not None and self._idempotency is not None:
            await self._idempotency.complete(principal, claim, 200, body)
        return Reply(200, body)

    async def invoke_sync(
        self,
        principal: Principal,
        agent_name: str,
        req: InvokeRequest,
        *,
        request_id: str,
        route: Route | None = None,
        invocation_id: str | None = None,
    ) -> SyncResult:
        if route is None:
            route = await self._route(principal, agent_name, req.alias, "sync")
        version, target, client_sid, runtime_sid = _place(principal, route, req.session_id)
        invocation_id = invocation_id or new_id("inv")
        payload = self._payload(
            principal, route, req.input, (version, target, client_sid, runtime_sid), invocation_id
        )
        context = self._gateway_context(route)
        started = time.perf_counter()
        error: AgentryError | None = None
        with agent_span(principal, route, version, invocation_id, "sync") as opened:
            try:
                result = await self._runtime.invoke(
                    target,
                    runtime_sid,
                    payload,
                    request_id=request_id,
                    timeout=self.sync_timeout(route),
                )
            except AgentryError as exc:
                error = exc
                tracing.failed(opened, exc.code)
            finally:
                if context is not None:
                    await asyncio.shield(context.end(invocation_id))
        runtime_ms = round((time.perf_counter() - started) * 1000)
        await self._record(
            principal,
            route,
            version,
            invocation_id,
            client_sid,
            runtime_sid,
            request_id,
            runtime_ms,
            error,
        )
        if error is not None:
            error.extra.setdefault("invocation_id", invocation_id)
            raise error
        return SyncResult(
            invocation_id=invocation_id,
            session_id=client_sid,
            route=route,
            output_json=_output_json(result.content_type, result.body),
            runtime_ms=runtime_ms,
            version_number=version,
        )

    async def _record(
        self,
        principal: Principal,
        route: Route,
        version: int,
        invocation_id: str,
        client_sid: str,
        runtime_sid: str,
        request_id: str,
        runtime_ms: int,
        error: AgentryError | None,
        *,
        mode: str = "sync",
        status: str | None = None,
        wait: bool | None = None,
    ) -> None:
        now = utcnow()
        parent = delegation_var.get()
        outcome = status or ("failed" if error else "succeeded")
        INVOCATIONS.labels(principal.tenant_id, route.agent_name, mode, outcome).inc()
        companions: list[tuple[type[Base], dict[str, Any]]] = []
        if self._prices is not None and (error is None or isinstance(error, AGENT_RAN)):
            price = self._prices.price(principal.tier, RUNTIME_MS, at=now)
            usage = runtime_row(
                tenant_id=principal.tenant_id,
                agent_id=route.agent_id,
                version_number=version,
                invocation_id=invocation_id,
                runtime_ms=runtime_ms,
                price=price,
                at=now,
            )
            companions.append((UsageEvent, usage))
        # Not the request's transaction: a failed call is recorded even though the request fails.
        # The runtime usage row is committed with the invocation row, in the same batch.
        await self._recorder.record(
            {
                "id": invocation_id,
                "tenant_id": principal.tenant_id,
                "agent_id": route.agent_id,
                "version_number": version,
                "alias": route.alias,
                "mode": mode,
                "session_id": client_sid,
                "runtime_session_id": runtime_sid,
                "status": outcome,
                "error_code": error.code if error else None,
                "api_key_id": principal.key_id,
                "request_id": request_id,
                "parent_invocation_id": parent.parent_invocation_id if parent else None,
                "runtime_ms": runtime_ms,
                "created_at": now,
                "finished_at": now,
            },
            wait=self._durable_records if wait is None else wait,
            companions=companions,
        )

    # streaming

    async def handle_stream(
        self,
        principal: Principal,
        agent_name: str,
        req: InvokeRequest,
        *,
        body_size: int,
        idempotency_key: str | None,
        last_event_id: str | None,
        request_id: str,
    ) -> StreamReply:
        """Everything that can fail with an HTTP status happens here, before the 200."""
        await self._admit(principal, body_size)
        route = await self._route(principal, agent_name, req.alias, "stream")
        invocation_id = new_id("inv")
        claim: Claim | None = None
        if idempotency_key is not None and self._idempotency is not None:
            found = await self._idempotency.claim(
                principal,
                idempotency_key,
                request_hash("stream", agent_name, req.model_dump(mode="json")),
                invocation_id=invocation_id,
                running_s=self._stream_timeout_s + self._lease_margin_s,
            )
            if isinstance(found, Existing):
                # The same stream again: replay its stored events (following it if it runs).
                after = _parse_last_event_id(last_event_id)
                return StreamReply(
                    self._follow(principal, found.invocation_id, after),
                    {"Idempotent-Replayed": "true", "X-Invocation-Id": found.invocation_id},
                )
            claim = found
        try:
            placement = _place(principal, route, req.session_id)
            payload = self._payload(principal, route, req.input, placement, invocation_id)
            slot = await self._slot(principal, self._stream_timeout_s)
        except BaseException:
            if claim is not None and self._idempotency is not None:
                await self._idempotency.abandon(principal, claim)
            raise
        assert self._streams is not None

        async def produce(live: LiveStream) -> None:
            await self._produce(
                live, principal, route, placement, payload, invocation_id, request_id, slot, claim
            )

        # The call belongs to the platform: a client that goes away only stops reading.
        self._streams.run(invocation_id, principal.tenant_id, produce)
        return StreamReply(
            self._follow(principal, invocation_id, -1), {"X-Invocation-Id": invocation_id}
        )

    def _event(
        self, principal: Principal, invocation_id: str, seq: int, event: str, data: str
    ) -> tuple[dict[str, Any], dict[str, str]]:
        row = {
            "invocation_id": invocation_id,
            "seq": seq,
            "tenant_id": principal.tenant_id,
            "event": event,
            "data": data,
            "created_at": utcnow(),
        }
        return row, {"id": str(seq), "event": event, "data": data}

    async def _store(self, row: dict[str, Any], *, wait: bool) -> None:
        if self._events is not None:
            await self._events.record(row, wait=wait)

    def _payload(
        self,
        principal: Principal,
        route: Route,
        data: Any,
        placement: tuple[int, RuntimeTarget, str, str],
        invocation_id: str,
    ) -> bytes:
        """The agent's payload: the input, plus `_agentry` for an agent that uses gateways."""
        context = self._gateway_context(route)
        if context is not None:
            version, _, _, runtime_sid = placement
            parent = delegation_var.get()
            data = context.inject(
                data,
                Invocation.of_call(
                    principal,
                    route,
                    version,
                    invocation_id,
                    runtime_sid,
                    chain=parent.chain if parent else (),
                    trace_id=parent.trace_id if parent else request_id_var.get(),
                ),
            )
        return json.dumps(data, separators=(",", ":")).encode()

    def _gateway_context(self, route: Route) -> AgentContext | None:
        """Who signs (and, when the call ends, revokes) a gateway agent's token; None otherwise."""
        return self._agent_context if route.uses_gateways else None

    async def _produce(
        self,
        live: LiveStream,
        principal: Principal,
        route: Route,
        placement: tuple[int, RuntimeTarget, str, str],
        payload: bytes,
        invocation_id: str,
        request_id: str,
        slot: Slot | None,
        claim: Claim | None,
    ) -> None:
        """The agent call of a stream, to its end, the stream limit or a cancel: each event is
        stored and pushed to the stream's readers."""
        version, target, client_sid, runtime_sid = placement
        seq = 0
        started = time.perf_counter()
        error: AgentryError | None = None
        status = "failed"
        start = {
            "invocation_id": invocation_id,
            "session_id": client_sid,
            "agent": route.agent_name,
            "alias": route.alias,
            "version": version,
        }
        traced = agent_span(principal, route, version, invocation_id, "stream")
        try:
            opened = traced.__enter__()  # left in the finally below, in this task
            chunks = 0
            upstream = self._runtime.invoke_stream(
                target,
                runtime_sid,
                payload,
                request_id=request_id,
                timeout=self._stream_timeout_s,
            )
            # Call the agent while the start event goes out, so it does not delay the first frame.
            first = asyncio.ensure_future(anext(upstream, None))
            try:
                row, sse = self._event(
                    principal,
                    invocation_id,
                    seq,
                    "start",
                    json.dumps(start, separators=(",", ":")),
                )
                await self._store(row, wait=False)
                live.push(seq, sse)
                frame = await first
                while frame is not None:
                    failed = _agent_error_frame(frame)
                    if failed is not None:
                        raise failed
                    seq += 1
                    chunks += 1
                    row, sse = self._event(
                        principal,
                        invocation_id,
                        seq,
                        "chunk",
                        _strict_json(frame).decode("utf-8", "replace"),
                    )
                    await self._store(row, wait=False)
                    live.push(seq, sse)
                    frame = await anext(upstream, None)
            except AgentryError as exc:
                error = exc
                tracing.failed(opened, exc.code)
            finally:
                # Closing the runtime iterator closes the agent connection (cancels the call).
                # Shielded: sse-starlette cancels through an anyio scope, which would cancel
                # every await in this cleanup again.
                with anyio.CancelScope(shield=True):
                    if not first.done():
                        first.cancel()
                    with contextlib.suppress(BaseException):
                        await first
                    await _aclose(upstream)
                traced.__exit__(None, None, None)
            runtime_ms = round((time.perf_counter() - started) * 1000)
            seq += 1
            if error is None:
                status = "succeeded"
                data = json.dumps(
                    {
                        "invocation_id": invocation_id,
                        "usage": {"runtime_ms": runtime_ms},
                        "chunks": chunks,
                    },
                    separators=(",", ":"),
                )
                row, sse = self._event(principal, invocation_id, seq, "end", data)
            else:
                row, sse = self._event(
                    principal, invocation_id, seq, "error", problem_data(error, invocation_id)
                )
            # The terminal event is committed before it is sent: a client that saw it can
            # replay the whole stream from any replica.
            await self._store(row, wait=True)
            live.push(seq, sse)
        except asyncio.CancelledError:
            # `POST /v1/streams/{id}/cancel`, or the API shutting down.
            status = "cancelled"
            if live.cancel_requested:
                error = StreamCancelled("The stream was cancelled on request.")
            else:
                error = StreamInterrupted("The API process stopped before the stream ended.")
            row, sse = self._event(
                principal, invocation_id, seq + 1, "error", problem_data(error, invocation_id)
            )
            with anyio.CancelScope(shield=True):
                await self._store(row, wait=True)
            live.push(seq + 1, sse)
            raise
        finally:
            runtime_ms = round((time.perf_counter() - started) * 1000)
            with anyio.CancelScope(shield=True):
                await self._release(slot)
                context = self._gateway_context(route)
                if context is not None:
                    await context.end(invocation_id)
                await self._finish_stream(
                    principal,
                    route,
                    version,
                    invocation_id,
                    client_sid,
                    runtime_sid,
                    request_id,
                    runtime_ms,
                    error,
                    status,
                    claim,
                )

    async def _finish_stream(
        self,
        principal: Principal,
        route: Route,
        version: int,
        invocation_id: str,
        client_sid: str,
        runtime_sid: str,
        request_id: str,
        runtime_ms: int,
        error: AgentryError | None,
        status: str,
        claim: Claim | None,
    ) -> None:
        await self._record(
            principal,
            route,
            version,
            invocation_id,
            client_sid,
            runtime_sid,
            request_id,
            runtime_ms,
            error,
            mode="stream",
            status=status,
            wait=False,
        )
        if claim is not None and self._idempotency is not None:
            if status == "succeeded":
                await self._idempotency.complete(principal, claim, 200, invocation_id.encode())
            else:
                await self._idempotency.abandon(principal, claim)

    async def resume(
        self, principal: Principal, invocation_id: str, last_event_id: str | None
    ) -> StreamReply:
        """The stored events of a stream after `Last-Event-ID`, following it while it runs."""
        after = _parse_last_event_id(last_event_id)
        if self._quotas is not None:
            await self._quotas.check_rate(principal)
        if not await self._stream_exists(principal, invocation_id):
            raise StreamNotFound("No such stream (or it has expired).")
        return StreamReply(
            self._follow(principal, invocation_id, after), {"X-Invocation-Id": invocation_id}
        )

    async def _stream_exists(self, principal: Principal, invocation_id: str) -> bool:
        """Running here (its first events may not be committed yet), or stored. A reconnect to
        another replica right after the start can beat the start event's group commit: look
        again until a commit has had time to land before answering 404."""
        assert self._streams is not None
        deadline = time.monotonic() + RESUME_COMMIT_WAIT_S
        while True:
            if self._streams.local(invocation_id, principal.tenant_id) is not None:
                return True
            if await self._events_after(principal, invocation_id, -1, limit=1):
                return True
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(0.1)

    async def cancel_stream(self, principal: Principal, invocation_id: str) -> str:
        """Stop a running stream's agent call: "cancelled" once its terminal event is stored,
        "cancelling" when another replica has not stored it within a few seconds."""
        assert self._streams is not None
        last = await self._last_event(principal, invocation_id)
        if last is None:
            raise StreamNotFound("No such stream (or it has expired).")
        if last[1] in TERMINAL_EVENTS:
            if _cancelled(last[2]):
                return "cancelled"  # idempotent: it was cancelled already
            raise StreamEnded(f"The stream has already ended ({last[1]}).")
        await self._streams.cancel(invocation_id, principal.tenant_id)
        deadline = time.monotonic() + CANCEL_WAIT_S
        while time.monotonic() < deadline:
            last = await self._last_event(principal, invocation_id)
            if last is not None and last[1] in TERMINAL_EVENTS:
                return "cancelled" if _cancelled(last[2]) else "ended"
            await asyncio.sleep(0.05)
        return "cancelling"

    async def _last_event(
        self, principal: Principal, invocation_id: str
    ) -> tuple[int, str, str] | None:
        assert self._maker is not None
        async with self._maker() as session:
            row = await StreamEventRepository(session, principal.tenant_id).last(invocation_id)
            return None if row is None else (row.seq, row.event, row.data)

    async def _events_after(
        self, principal: Principal, invocation_id: str, after: int, limit: int = 500
    ) -> list[tuple[int, str, str, float]]:
        assert self._maker is not None
        async with self._maker() as session:
            rows = await StreamEventRepository(session, principal.tenant_id).after(
                invocation_id, after, limit
            )
            return [(r.seq, r.event, r.data, r.created_at.timestamp()) for r in rows]

    async def _follow(
        self, principal: Principal, invocation_id: str, after: int
    ) -> AsyncIterator[dict[str, str]]:
        """Every event after `after`, exactly once and in order: from this replica's buffer
        while the call runs here, else from the stored events, waking on the stream channel."""
        assert self._streams is not None
        give_up: float | None = None
        live: LiveStream | None = None
        while True:
            # The buffer is kept while the call runs here; a reader that holds it reads it to
            # its end even once the call is over (its terminal event is in it).
            live = self._streams.local(invocation_id, principal.tenant_id) or live
            if live is not None:
                tick = live.tick
                buffered = live.after(after)
                if buffered is not None and (buffered or not live.done):
                    for seq, sse in buffered:
                        yield sse
                        if sse["event"] in TERMINAL_EVENTS:
                            return
                        after = seq
                    if not buffered:
                        await tick.wait()
                    continue
                live = None  # behind the buffer, or the call ended without a terminal event
            rows = await self._events_after(principal, invocation_id, after)
            for seq, event, data, created in rows:
                if seq == 0:
                    give_up = created + self._stream_timeout_s + self._lease_margin_s
                yield {"id": str(seq), "event": event, "data": data}
                after = seq
                if event in TERMINAL_EVENTS:
                    return
            if rows:
                continue
            if self._streams.local(invocation_id, principal.tenant_id) is not None:
                continue  # started here meanwhile (an idempotent retry): follow the buffer
            last = await self._last_event(principal, invocation_id)
            if last is not None and last[1] in TERMINAL_EVENTS:
                # Last-Event-ID beyond the end of a finished stream: its terminal event again.
                yield {"id": str(last[0]), "event": last[1], "data": last[2]}
                return
            if give_up is None:
                first = await self._events_after(principal, invocation_id, -1, limit=1)
                give_up = (first[0][3] if first else time.time()) + (
                    self._stream_timeout_s + self._lease_margin_s
                )
            if time.time() > give_up:
                error = StreamInterrupted("The stream stopped without an end event.")
                yield {"event": "error", "data": problem_data(error, invocation_id)}
                return
            await self._streams.wait_remote(invocation_id, RESUME_FALLBACK_S)


def agent_span(
    principal: Principal, route: Route, version: int, invocation_id: str, mode: str
) -> AbstractContextManager[Span | None]:
    """The runtime call as a GenAI `invoke_agent` CLIENT span; the agent's spans are its
    children (the runtime clients put its context in `traceparent`)."""
    return tracing.span(
        f"invoke_agent {route.agent_name}",
        kind=SpanKind.CLIENT,
        attributes={
            tracing.OPERATION: "invoke_agent",
            "gen_ai.agent.name": route.agent_name,
            "gen_ai.agent.id": route.agent_id,
            "gen_ai.agent.version": str(version),
            tracing.TENANT: principal.tenant_id,
            tracing.INVOCATION: invocation_id,
            "agentry.invocation.mode": mode,
        },
    )


def _cancelled(data: str) -> bool:
    with contextlib.suppress(ValueError, TypeError):
        return bool(json.loads(data).get("code") == StreamCancelled.code)
    return False


async def _aclose(iterator: AsyncIterator[bytes]) -> None:
    aclose = getattr(iterator, "aclose", None)
    if aclose is not None:
        await aclose()


def _parse_last_event_id(value: str | None) -> int:
    if value is None or value == "":
        return -1
    if not value.isdigit() or len(value) > 9:
        raise InvalidLastEventId("Last-Event-ID must be the id of an event of this stream.")
    return int(value)


def _place(
    principal: Principal, route: Route, session_id: str | None
) -> tuple[int, RuntimeTarget, str, str]:
    """Which version and runtime session a call goes to: (version, target, client sid,
    runtime sid). While a canary runs, a client session id always lands on the same side (by
    a hash of it); calls without one pick a side first, then that version's session pool."""
    version, target = route.version_number, route.target
    if session_id:
        runtime_sid = runtime_session_id(principal.tenant_id, route.agent_id, session_id)
        if route.canary_target is not None:
            version, target = route.pick(int(runtime_sid[-8:], 16) % 100)
        return version, target, session_id, runtime_sid
    if route.canary_target is not None:
        version, target = route.pick(random.randrange(100))
    client_sid = pooled_session_id(version, SESSION_POOL_SIZE)
    return (
        version,
        target,
        client_sid,
        runtime_session_id(principal.tenant_id, route.agent_id, client_sid),
    )

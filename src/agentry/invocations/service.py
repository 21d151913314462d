"""Invoking agents. The hot path: resolve route, call runtime, record one row."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from agentry.identity.principal import Principal
from agentry.invocations.context import AgentContext
from agentry.invocations.recorder import InvocationRecorder
from agentry.invocations.schemas import InvokeRequest
from agentry.invocations.sessions import pooled_session_id, runtime_session_id
from agentry.kit.clock import utcnow
from agentry.kit.errors import AgentryError, BadRequest
from agentry.kit.ids import new_id
from agentry.registry.routing import Route, RouteCache
from agentry.runtime.base import AgentRuntime

SESSION_POOL_SIZE = 2


class ModeNotSupported(BadRequest):
    code = "mode_not_supported"
    title = "The agent does not support this invocation mode"


@dataclass(frozen=True, slots=True)
class SyncResult:
    invocation_id: str
    session_id: str
    route: Route
    output_json: bytes
    runtime_ms: int

    def render(self) -> bytes:
        """The response body, built around the agent's JSON without parsing it again."""
        head = json.dumps(
            {
                "invocation_id": self.invocation_id,
                "session_id": self.session_id,
                "agent": self.route.agent_name,
                "version": self.route.version_number,
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


def _output_json(content_type: str, body: bytes) -> bytes:
    if content_type.startswith("text/event-stream"):
        frames = [
            line[5:].strip()
            for line in body.replace(b"\r\n", b"\n").split(b"\n")
            if line.startswith(b"data:")
        ]
        return b"[" + b",".join(frames) + b"]"
    if not body.strip():
        return b"null"
    try:
        json.loads(body)
    except ValueError:
        return json.dumps(body.decode("utf-8", "replace")).encode()
    return body


class InvocationService:
    def __init__(
        self,
        recorder: InvocationRecorder,
        runtime: AgentRuntime,
        routes: RouteCache,
        *,
        default_timeout_s: float,
        durable_records: bool,
        agent_context: AgentContext | None = None,
    ) -> None:
        self._recorder = recorder
        self._runtime = runtime
        self._routes = routes
        self._default_timeout_s = default_timeout_s
        self._durable_records = durable_records
        self._agent_context = agent_context

    async def invoke_sync(
        self, principal: Principal, agent_name: str, req: InvokeRequest, *, request_id: str
    ) -> SyncResult:
        route = await self._routes.resolve(agent_name, req.alias)
        route.check_tier(principal.tier)
        if route.modes and "sync" not in route.modes:
            raise ModeNotSupported(f"Agent '{agent_name}' does not support sync invocation.")
        client_sid = req.session_id or pooled_session_id(route.version_number, SESSION_POOL_SIZE)
        runtime_sid = runtime_session_id(principal.tenant_id, route.agent_id, client_sid)
        invocation_id = new_id("inv")
        data = req.input
        if route.uses_gateways and self._agent_context is not None:
            data = self._agent_context.inject(data, principal, route, invocation_id, runtime_sid)
        payload = json.dumps(data, separators=(",", ":")).encode()
        started = time.perf_counter()
        error: AgentryError | None = None
        try:
            result = await self._runtime.invoke(
                route.target,
                runtime_sid,
                payload,
                request_id=request_id,
                timeout=self._default_timeout_s,
            )
        except AgentryError as exc:
            error = exc
        runtime_ms = round((time.perf_counter() - started) * 1000)
        await self._record(
            principal, route, invocation_id, client_sid, runtime_sid, request_id, runtime_ms, error
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
        )

    async def _record(
        self,
        principal: Principal,
        route: Route,
        invocation_id: str,
        client_sid: str,
        runtime_sid: str,
        request_id: str,
        runtime_ms: int,
        error: AgentryError | None,
    ) -> None:
        now = utcnow()
        # Not the request's transaction: a failed call is recorded even though the request fails.
        await self._recorder.record(
            {
                "id": invocation_id,
                "tenant_id": principal.tenant_id,
                "agent_id": route.agent_id,
                "version_number": route.version_number,
                "alias": route.alias,
                "mode": "sync",
                "session_id": client_sid,
                "runtime_session_id": runtime_sid,
                "status": "failed" if error else "succeeded",
                "error_code": error.code if error else None,
                "api_key_id": principal.key_id,
                "request_id": request_id,
                "runtime_ms": runtime_ms,
                "created_at": now,
                "finished_at": now,
            },
            wait=self._durable_records,
        )

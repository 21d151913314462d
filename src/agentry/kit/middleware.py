"""Pure ASGI middleware (BaseHTTPMiddleware costs too much on the hot path).

One layer does request ids, the body size limit, access logs and request metrics.
The body limit is written here, not taken from FastAPI's `max_body_size`, because Starlette
answers a declared oversize body with a text/plain 413, and every error here is problem+json.
"""

from __future__ import annotations

import re
import time
from typing import Any

import structlog
from opentelemetry.trace import Span
from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agentry.kit import tracing
from agentry.kit.content import BodyProblem, check_json, check_media_type, rule_for
from agentry.kit.context import request_id_var
from agentry.kit.errors import PayloadTooLarge
from agentry.kit.ids import new_id
from agentry.kit.logging import AccessLog, get_logger

REQUESTS = Counter("agentry_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram(
    "agentry_http_request_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 60),
)
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")
log = AccessLog("agentry.access")  # the access line
_errors = get_logger("agentry.access")
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


class RequestContextMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        upload_prefix: str = "/v1/registry/",
        max_upload_bytes: int = 0,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        # Agent artifact uploads may be far larger than invocation payloads.
        self.upload_prefix = upload_prefix
        self.max_upload_bytes = max(max_upload_bytes, max_body_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = _request_id(scope)
        token = request_id_var.set(request_id)
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        status = 500
        limit = self.max_body_bytes
        if scope["path"].startswith(self.upload_prefix):
            limit = self.max_upload_bytes

        declared = _header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            # Refuse before reading a byte of the body.
            await _send_too_large(scope, send, request_id, limit)
            request_id_var.reset(token)
            return

        method = scope["method"]
        if method in _BODY_METHODS:
            # Every route's body rules in one place (kit.content): media type, strict JSON.
            rule = rule_for(method, scope["path"])
            refused: BodyProblem | None = None
            if rule.json or declared is None:
                # Read up to the limit before the app sees the body: FastAPI turns errors raised
                # while it reads the body into a plain 400, and JSON is checked before routing.
                body, too_large = await _read_limited(receive, limit)
                if too_large:
                    await _send_too_large(scope, send, request_id, limit)
                    request_id_var.reset(token)
                    return
                receive = _replay(body, receive)
                if body:
                    refused = check_media_type(rule, _header(scope, b"content-type"))
                    if refused is None and rule.json:
                        refused = check_json(body)
            elif declared != "0":
                refused = check_media_type(rule, _header(scope, b"content-type"))
            if refused is not None:
                await _send_problem(scope, send, request_id, refused, add_id=True)
                request_id_var.reset(token)
                return

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        started_response = False
        traced = tracing.start_server_span(
            scope["headers"],
            method,
            {
                "http.request.method": method,
                "url.path": scope["path"],
                "agentry.request_id": request_id,
            },
        )

        async def send_tracked(message: Message) -> None:
            nonlocal started_response
            started_response = started_response or message["type"] == "http.response.start"
            await send_with_id(message)

        try:
            await self.app(scope, receive, send_tracked)
        except Exception as exc:
            # Answer here, inside the request's context: Starlette's outermost error handler
            # runs after the request id is gone and re-raises, which resets the connection.
            _errors.error("unhandled_error", error_type=type(exc).__name__, exc_info=exc)
            if started_response:
                raise
            await _send_problem(
                scope,
                send_with_id,
                request_id,
                BodyProblem(
                    500, "internal_error", "Internal error", "An unexpected error occurred."
                ),
            )
        finally:
            elapsed = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", "unmatched")
            method = scope["method"]
            REQUESTS.labels(method, route, str(status)).inc()
            LATENCY.labels(method, route).observe(elapsed)
            if traced is not None:
                _finish_span(traced, scope, method, route, status)
            if route not in ("/metrics", "/healthz", "/readyz"):
                log.info(
                    "request",
                    method=method,
                    route=route,
                    status=status,
                    ms=round(elapsed * 1000, 2),
                    tenant=scope.get("state", {}).get("tenant_id"),
                )
            request_id_var.reset(token)


def _finish_span(
    traced: tuple[Span, object], scope: Scope, method: str, route: str, status: int
) -> None:
    opened = traced[0]
    opened.update_name(f"{method} {route}")
    opened.set_attribute("http.route", route)
    opened.set_attribute("http.response.status_code", status)
    tenant = scope.get("state", {}).get("tenant_id")
    if tenant:
        opened.set_attribute(tracing.TENANT, tenant)
    if status >= 500:
        tracing.failed(opened, str(status))
    tracing.end_server_span(traced)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _request_id(scope: Scope) -> str:
    given = _header(scope, b"x-request-id")
    if given and _VALID_REQUEST_ID.match(given):
        return given
    return new_id("req")


async def _send_too_large(scope: Scope, send: Send, request_id: str, limit: int) -> None:
    detail = f"The request body exceeds {limit} bytes."
    too_large = BodyProblem(
        PayloadTooLarge.status_code, PayloadTooLarge.code, PayloadTooLarge.title, detail
    )
    await _send_problem(scope, send, request_id, too_large, add_id=True)


async def _send_problem(
    scope: Scope, send: Send, request_id: str, found: BodyProblem, *, add_id: bool = False
) -> None:
    from agentry.kit.problems import problem

    response = problem(found.status, found.code, found.title, found.detail)
    if add_id:
        response.headers["x-request-id"] = request_id

    async def _noop_receive() -> dict[str, Any]:
        return {"type": "http.disconnect"}

    await response(scope, _noop_receive, send)


async def _read_limited(receive: Receive, limit: int) -> tuple[bytes, bool]:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), False
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return b"", True
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), False


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay

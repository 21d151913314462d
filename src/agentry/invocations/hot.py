"""The hot routes, `POST /v1/agents/{agent}/invoke` and `/stream`, as plain Starlette routes
placed ahead of FastAPI's router.

FastAPI's dependency solving and its linear scan of every route cost more per call than the
rest of the platform's work (docs/benchmarks.md). These routes do the same checks in the same
order with the same functions (key or token, `invoke` scope, body validation, then the
service: quotas, route, policy, call, record, metering), so answers and errors are
identical. Only valid agent names and `POST` match here; anything else falls through to the
FastAPI declarations in `endpoints.py`, which also document the routes in OpenAPI.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, request_response
from starlette.types import Receive, Scope, Send

from agentry.identity.auth import authenticate, require_scope
from agentry.identity.principal import Scope as CredentialScope
from agentry.invocations import endpoints

_AGENT = r"[a-z][a-z0-9_]{0,47}"  # the same pattern as endpoints.AgentName


class HotRoute(BaseRoute):
    """Matches `POST` on `path` only (no 405, no partial match: those fall through)."""

    def __init__(self, path: str, pattern: str, handler: Callable[[Request], Awaitable[Any]]):
        self.path = path  # the template: access log and metrics label it as FastAPI would
        self._regex = re.compile(pattern)
        self.endpoint = handler
        self.app = request_response(handler)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] == "http" and scope["method"] == "POST":
            found = self._regex.fullmatch(scope["path"])
            if found is not None:
                params = {"agent": found.group(1)}
                return Match.FULL, {"endpoint": self.endpoint, "path_params": params, "route": self}
        return Match.NONE, {}

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


async def _invoker(request: Request) -> Any:
    return await require_scope(request, await authenticate(request), CredentialScope.invoke)


async def invoke(request: Request) -> Response:
    return await endpoints.invoke(
        request.path_params["agent"],
        request,
        await _invoker(request),
        request.headers.get("idempotency-key"),
    )


async def stream(request: Request) -> Response:
    return await endpoints.stream(
        request.path_params["agent"],
        request,
        await _invoker(request),
        request.headers.get("idempotency-key"),
        request.headers.get("last-event-id"),
    )


def hot_routes() -> list[BaseRoute]:
    return [
        HotRoute("/v1/agents/{agent}/invoke", rf"/v1/agents/({_AGENT})/invoke", invoke),
        HotRoute("/v1/agents/{agent}/stream", rf"/v1/agents/({_AGENT})/stream", stream),
    ]

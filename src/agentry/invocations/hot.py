"""The hot routes, `POST /v1/agents/{agent}/invoke` and `/stream` (kit/hot.py serves them
ahead of FastAPI's middleware stack and router).

They do the same checks in the same order with the same functions as the FastAPI
declarations in `endpoints.py` (key or token, `invoke` scope, body validation, then the
service: quotas, route, policy, call, record, metering), so answers and errors are identical.
Only valid agent names match here; anything else falls through to those declarations, which
also document the routes in OpenAPI.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from agentry.identity.auth import authenticate, require_scope
from agentry.identity.principal import Scope as CredentialScope
from agentry.invocations import endpoints
from agentry.kit.hot import HotRoute

__all__ = ["HotRoute", "hot_routes"]

_AGENT = r"(?P<agent>[a-z][a-z0-9_]{0,47})"  # the same pattern as endpoints.AgentName


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


def hot_routes() -> list[HotRoute]:
    return [
        HotRoute("/v1/agents/{agent}/invoke", rf"/v1/agents/{_AGENT}/invoke", invoke),
        HotRoute("/v1/agents/{agent}/stream", rf"/v1/agents/{_AGENT}/stream", stream),
    ]

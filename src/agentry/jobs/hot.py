"""`POST /v1/agents/{agent}/jobs` as a hot route (kit/hot.py), served ahead of FastAPI's
middleware stack and router the way invocations/hot.py serves invoke and stream.

FastAPI's routing scan and dependency solving were ~15% of the API's CPU per accepted job
(docs/benchmarks.md). This route authenticates, checks the `jobs` scope and opens the request's
session exactly as the dependencies do, then calls the FastAPI endpoint function itself, so
every check (quotas, route, entitlement, policy, Idempotency-Key, audit, metering) and every
answer and error is the same. Anything that does not match falls through to FastAPI, which
also documents the route in OpenAPI.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from agentry.identity.auth import authenticate, require_scope
from agentry.identity.principal import Scope
from agentry.jobs import endpoints
from agentry.kit.db.engine import session_scope
from agentry.kit.hot import HotRoute
from agentry.platform import get_platform

AGENT = r"(?P<agent>[a-z][a-z0-9_]{0,47})"  # the same pattern as endpoints.AgentName


async def create_job(request: Request) -> Response:
    principal = await require_scope(request, await authenticate(request), Scope.jobs)
    platform = get_platform(request)
    async with session_scope(platform.sessionmaker) as session:  # as `DbSession`
        return await endpoints.create_job(
            request.path_params["agent"],
            request,
            principal,
            session,
            platform,
            request.headers.get("idempotency-key"),
        )


def hot_routes() -> list[HotRoute]:
    return [HotRoute("/v1/agents/{agent}/jobs", rf"/v1/agents/{AGENT}/jobs", create_job)]

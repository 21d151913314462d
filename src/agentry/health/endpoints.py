from __future__ import annotations

import hmac

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from agentry.identity.auth import RequireRole, authenticate, bearer_credential
from agentry.identity.principal import Role
from agentry.kit.openapi import problem_responses
from agentry.ops.metrics import domain_metrics
from agentry.platform import DbSession, PlatformDep, get_platform

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Liveness")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="Readiness: database and runtime reachable")
async def readyz(platform: PlatformDep) -> JSONResponse:
    checks: dict[str, str] = {}
    try:
        async with platform.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"error: {type(exc).__name__}"
    checks["runtime"] = "ok" if await platform.runtime_ready() else "unreachable"
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "not_ready", "checks": checks},
        status_code=200 if ready else 503,
    )


async def metrics_reader(request: Request) -> None:
    """Who may scrape: anyone in the local profile without AGENTRY_METRICS_TOKEN; otherwise the
    token (Prometheus `authorization: {credentials: ...}`) or an operator credential. The
    series name tenants, so they are not public."""
    settings = get_platform(request).settings
    token = settings.metrics_token.get_secret_value()
    if not token and settings.profile == "local":
        return
    credential = bearer_credential(request)
    if token and hmac.compare_digest(credential.encode(), token.encode()):
        return
    # Anything else must be an operator's credential; failures are audited and throttled.
    await RequireRole(Role.operator)(request, await authenticate(request))


@router.get(
    "/metrics",
    summary="Prometheus metrics (scrape token or operator credential outside local dev)",
    response_class=Response,
    responses={
        200: {"content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}}},
        **problem_responses(401, 403),
    },
    dependencies=[Depends(metrics_reader)],
)
async def metrics(session: DbSession, platform: PlatformDep) -> Response:
    """Process counters (HTTP, invocations, budget and policy denials, canary decisions) and
    the domain gauges read now (queues, webhook backlog, sessions against the quota). The
    alert rules in docs/alerts/ use these."""
    body = generate_latest() + await domain_metrics(session, platform)
    return Response(body, media_type=CONTENT_TYPE_LATEST)

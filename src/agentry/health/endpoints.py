from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from agentry.ops.metrics import domain_metrics
from agentry.platform import DbSession, PlatformDep

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


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}}}},
)
async def metrics(session: DbSession, platform: PlatformDep) -> Response:
    """Process counters (HTTP, invocations) and the domain gauges read now (queues, webhook
    backlog, sessions against the quota). The alert rules in docs/alerts/ use these."""
    body = generate_latest() + await domain_metrics(session, platform)
    return Response(body, media_type=CONTENT_TYPE_LATEST)

"""The API process: `create_app()` wires domains, middleware and process-wide objects.

Where a request goes: `kit.middleware` (request id, body limit, access log) → the domain's
`endpoints.py` → its `service.py` → its `repository.py` (SQL) or `runtime` (agents).
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from agentry.agent_auth.endpoints import router as agent_auth_router
from agentry.api_keys.service import ApiKeyAuthenticator
from agentry.audit.service import AuditLog
from agentry.config import Settings, get_settings
from agentry.gateway.endpoints import McpMount
from agentry.gateway.endpoints import admin_router as tools_admin_router
from agentry.gateway.endpoints import agent_router as agent_gateway_router
from agentry.gateway.wiring import build_gateways
from agentry.health.endpoints import router as health_router
from agentry.invocations.context import AgentContext
from agentry.invocations.endpoints import router as invocations_router
from agentry.invocations.recorder import InvocationRecorder
from agentry.invocations.service import InvocationService
from agentry.jobs.agent_endpoints import router as job_callbacks_router
from agentry.jobs.background import Background, signer_for
from agentry.jobs.endpoints import router as jobs_router
from agentry.kit.db.engine import create_engine, create_sessionmaker
from agentry.kit.db.migrate import upgrade_async
from agentry.kit.logging import configure_logging, get_logger
from agentry.kit.middleware import RequestContextMiddleware
from agentry.kit.problems import install_problem_handlers
from agentry.platform import Platform
from agentry.registry.endpoints import router as registry_router
from agentry.registry.routing import RouteCache
from agentry.runtime.factory import build_runtime
from agentry.usage.endpoints import admin_router as admin_usage_router
from agentry.usage.endpoints import router as usage_router
from agentry.webhooks.endpoints import router as webhooks_router
from agentry.webhooks.secretbox import SecretBox

log = get_logger("agentry.app")


def api_key_pepper(settings: Settings) -> bytes:
    """The configured pepper, or locally a generated one kept in the state dir."""
    configured = settings.api_key_pepper.get_secret_value()
    if configured:
        return configured.encode()
    path = settings.home / "pepper"
    if not path.exists():
        settings.home.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip().encode()


def create_app(settings: Settings | None = None, *, migrate: bool = True) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level, json=settings.log_json)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings.home.mkdir(parents=True, exist_ok=True)
        url = settings.effective_database_url
        if migrate:
            await upgrade_async(url)
        engine = create_engine(url)
        maker = create_sessionmaker(engine)
        runtime = build_runtime(settings)
        await runtime.start()
        pepper = api_key_pepper(settings)
        authenticator = ApiKeyAuthenticator(maker, pepper)
        authenticator.start()
        routes = RouteCache(maker)
        app.state.platform = Platform(
            settings=settings,
            engine=engine,
            sessionmaker=maker,
            runtime=runtime,
            authenticator=authenticator,
            routes=routes,
            audit=AuditLog(maker, pepper),
        )
        recorder = InvocationRecorder(maker, url)
        recorder.start()
        app.state.token_signer = signer_for(settings)
        app.state.invocations = InvocationService(
            recorder,
            runtime,
            routes,
            default_timeout_s=settings.sync_timeout_s,
            durable_records=settings.invocation_recording == "durable",
            agent_context=AgentContext(app.state.token_signer, settings.effective_public_url),
        )
        app.state.secret_box = SecretBox(settings)
        app.state.gateways = build_gateways(
            settings, maker, app.state.token_signer, app.state.platform.audit
        )
        await app.state.gateways.access.refresh()
        app.state.gateways.access.start()
        background = (
            Background.start(maker, runtime, app.state.token_signer, settings, kind="api")
            if settings.jobs_embedded_workers
            else None
        )
        log.info("api_started", profile=settings.profile, runtime_mode=settings.runtime_mode)
        try:
            async with app.state.gateways.mcp.running():
                yield
        finally:
            await app.state.gateways.access.stop()
            if background is not None:
                await background.stop()
            await recorder.stop()
            await authenticator.stop()
            await runtime.aclose()
            await engine.dispose()

    local = settings.profile == "local"
    app = FastAPI(
        title="Agentry API",
        version="1",
        summary="Invoke specialised AI agents: sync, streaming or async.",
        lifespan=lifespan,
        docs_url="/docs" if local else None,
        redoc_url=None,
        openapi_url="/openapi.json" if local else None,
    )
    install_problem_handlers(app)
    app.add_middleware(RequestContextMiddleware, max_body_bytes=settings.max_payload_bytes)
    app.include_router(health_router)
    app.include_router(registry_router)
    app.include_router(invocations_router)
    app.include_router(jobs_router)
    app.include_router(job_callbacks_router)
    app.include_router(webhooks_router)
    app.include_router(agent_auth_router)
    app.include_router(agent_gateway_router)
    app.include_router(tools_admin_router)
    app.include_router(usage_router)
    app.include_router(admin_usage_router)
    app.mount("/agent/mcp", McpMount())
    return app

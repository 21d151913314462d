"""The API process: `create_app()` wires domains, middleware and process-wide objects.

Where a request goes: `kit.middleware` (request id, body limit, access log) → the domain's
`endpoints.py` → its `service.py` → its `repository.py` (SQL) or `runtime` (agents).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.routing import Route
from starlette.types import ASGIApp

from agentry.a2a.delegation import Delegator
from agentry.a2a.endpoints import protocol_router as a2a_protocol_router
from agentry.a2a.endpoints import router as a2a_agent_router
from agentry.a2a.protocol import A2AServer
from agentry.a2a.tasks import JobTasks
from agentry.agent_auth.ended import EndedInvocations
from agentry.agent_auth.endpoints import router as agent_auth_router
from agentry.api_keys.endpoints import router as api_keys_router
from agentry.api_keys.pepper import PepperRing
from agentry.api_keys.service import ApiKeyAuthenticator
from agentry.audit.endpoints import router as audit_router
from agentry.audit.wiring import build_audit_log, checkpoint_publisher
from agentry.billing.budgets import MonthlyBudgets
from agentry.billing.endpoints import admin_router as admin_billing_router
from agentry.billing.endpoints import router as billing_router
from agentry.billing.wiring import start_price_book
from agentry.config import Settings, get_settings
from agentry.gateway.endpoints import McpMount
from agentry.gateway.endpoints import admin_router as tools_admin_router
from agentry.gateway.endpoints import agent_router as agent_gateway_router
from agentry.gateway.target_endpoints import router as tool_targets_router
from agentry.gateway.wiring import build_gateways
from agentry.health.endpoints import router as health_router
from agentry.identity.endpoints import router as identity_router
from agentry.identity.throttle import AuthThrottle
from agentry.identity.tokens import JwksCache, TokenSettings, TokenValidator, http_jwks_fetcher
from agentry.invocations.channel import build_channel
from agentry.invocations.context import AgentContext
from agentry.invocations.endpoints import router as invocations_router
from agentry.invocations.endpoints import streams_router
from agentry.invocations.hot import hot_routes
from agentry.invocations.housekeeping import Housekeeper
from agentry.invocations.idempotency import IdempotencyStore
from agentry.invocations.recorder import InvocationRecorder
from agentry.invocations.service import InvocationService
from agentry.invocations.streams import StreamHub
from agentry.jobs.agent_endpoints import router as job_callbacks_router
from agentry.jobs.background import Background, signer_for
from agentry.jobs.endpoints import router as jobs_router
from agentry.jobs.hot import hot_routes as job_hot_routes
from agentry.kit import tracing
from agentry.kit.cors import cors, install_cors
from agentry.kit.db.batch import GroupCommit
from agentry.kit.db.engine import create_engine, create_sessionmaker
from agentry.kit.db.migrate import upgrade_async
from agentry.kit.hot import HotApp, HotRoutes
from agentry.kit.logging import configure_logging, get_logger
from agentry.kit.middleware import RequestContextMiddleware
from agentry.kit.openapi import install_document
from agentry.kit.periodic import Periodic
from agentry.kit.problems import install_problem_handlers
from agentry.marketplace.endpoints import admin_router as admin_marketplace_router
from agentry.marketplace.endpoints import router as marketplace_router
from agentry.marketplace.service import Entitlements, Marketplace
from agentry.members.endpoints import router as members_router
from agentry.models import StreamEvent
from agentry.ops.endpoints import router as ops_router
from agentry.placement.endpoints import router as placement_router
from agentry.placement.wiring import build_regional_runtime, start_placement
from agentry.platform import Platform
from agentry.policy.aws import policy_sync
from agentry.policy.endpoints import admin_router as admin_policies_router
from agentry.policy.endpoints import router as policies_router
from agentry.policy.gate import InvocationGate
from agentry.policy.service import PolicyService
from agentry.quotas import QuotaService
from agentry.registry.canary import CanaryMonitor
from agentry.registry.developer_endpoints import router as registry_developer_router
from agentry.registry.endpoints import router as registry_router
from agentry.registry.packaging import MAX_ARTIFACT_BYTES
from agentry.registry.routing import RouteCache
from agentry.tenants.endpoints import router as admin_tenants_router
from agentry.usage.endpoints import admin_router as admin_usage_router
from agentry.usage.endpoints import router as usage_router
from agentry.web.endpoints import router as web_router
from agentry.webhooks.endpoints import router as webhooks_router
from agentry.webhooks.secretbox import SecretBox

log = get_logger("agentry.app")


def build_token_validator(
    settings: Settings, maker: async_sessionmaker[AsyncSession]
) -> TokenValidator | None:
    """Entra ID (or, locally, dev provider) tokens; None when no client id is configured."""
    client_id = settings.effective_entra_client_id
    if not client_id:
        return None
    jwks = JwksCache(
        http_jwks_fetcher(settings.effective_jwks_url),
        ttl_s=settings.jwks_cache_s,
        refetch_interval_s=settings.jwks_refetch_interval_s,
    )
    return TokenValidator(
        maker,
        jwks,
        TokenSettings(
            client_id=client_id,
            issuer_template=settings.effective_issuer_template,
            leeway_s=settings.jwt_leeway_s,
        ),
    )


def create_app(settings: Settings | None = None, *, migrate: bool = True) -> HotApp:
    settings = settings or get_settings()
    configure_logging(settings.log_level, json=settings.log_json)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings.home.mkdir(parents=True, exist_ok=True)
        traced = tracing.configure(settings, "agentry-api")
        url = settings.effective_database_url
        if migrate:
            await upgrade_async(url)
        engine = create_engine(url)
        maker = create_sessionmaker(engine)
        runtime = build_regional_runtime(settings)
        await runtime.start()
        placement = await start_placement(maker, runtime, settings)
        peppers = PepperRing(settings)
        authenticator = ApiKeyAuthenticator(maker, peppers.all, cache_s=settings.auth_cache_s)
        app.state.peppers = peppers
        authenticator.start()
        routes = RouteCache(maker)
        prices, price_refresher = await start_price_book(maker, settings)
        app.state.platform = Platform(
            settings=settings,
            engine=engine,
            sessionmaker=maker,
            runtime=runtime,
            authenticator=authenticator,
            routes=routes,
            audit=build_audit_log(settings, maker),
            prices=prices,
            inserts=GroupCommit(maker),
            tokens=build_token_validator(settings, maker),
            throttle=AuthThrottle(settings.auth_failure_limit, settings.redis_url),
        )
        if local:
            from agentry.devidp.keys import SigningKeys
            from agentry.devidp.server import DevAuthorizationServer

            app.state.dev_idp = DevAuthorizationServer(
                SigningKeys(settings.home / "dev-idp" / "keys"),
                issuer_template=settings.effective_issuer_template,
                audience=settings.effective_entra_client_id,
                token_lifetime_s=settings.dev_idp_token_lifetime_s,
            )
        recorder = InvocationRecorder(maker, url)
        recorder.start()
        streams = StreamHub(build_channel(url, settings.redis_url))
        await streams.start()
        app.state.streams = streams
        stream_events = InvocationRecorder(
            maker, url, table=StreamEvent, on_commit=streams.committed
        )
        stream_events.start()
        quotas = QuotaService(settings)
        app.state.quotas = quotas
        budgets = MonthlyBudgets(
            maker,
            app.state.platform.audit,
            currency=settings.billing_currency,
            ttl_s=settings.budget_cache_s,
        )
        quotas.budgets = app.state.budgets = budgets
        budget_sweep = Periodic("budgets", settings.budget_check_interval_s, budgets.sweep)
        budget_sweep.start()
        policies = PolicyService(maker, app.state.platform.audit, aws=policy_sync(settings))
        await policies.refresh()
        policies.start()
        app.state.policies = policies
        entitlements = Entitlements(maker)
        app.state.marketplace = Marketplace(entitlements, app.state.platform.audit)
        app.state.gate = gate = InvocationGate(policies, entitlements)
        app.state.token_signer = signer_for(settings)
        ended = EndedInvocations(maker)
        await ended.refresh()
        ended.start()
        app.state.invocations = InvocationService(
            recorder,
            runtime,
            routes,
            default_timeout_s=settings.sync_timeout_s,
            durable_records=settings.invocation_recording == "durable",
            quotas=quotas,
            idempotency=IdempotencyStore(maker, settings.idempotency_ttl_s),
            events=stream_events,
            maker=maker,
            stream_timeout_s=settings.stream_timeout_s,
            lease_margin_s=settings.quota_lease_margin_s,
            prices=prices,
            streams=streams,
            gate=gate,
            agent_context=AgentContext(
                app.state.token_signer, settings.effective_public_url, ended
            ),
        )
        app.state.delegator = Delegator(
            maker, app.state.platform.audit, max_depth=settings.a2a_max_depth
        )
        housekeeper = Housekeeper(maker, settings)
        housekeeper.start()
        canary = CanaryMonitor(app.state.platform)
        canary.start()
        checkpoints = checkpoint_publisher(settings, app.state.platform.audit)
        checkpoints.start()
        app.state.secret_box = SecretBox(settings)
        app.state.a2a = A2AServer(
            app.state.invocations,
            settings.effective_public_url,
            JobTasks(app.state.platform, quotas, app.state.secret_box, gate),
        )
        app.state.gateways = build_gateways(
            settings,
            maker,
            app.state.token_signer.verifier(ended),
            app.state.platform.audit,
            prices,
            policies,
        )
        await app.state.gateways.access.refresh()
        app.state.gateways.access.start()
        background = (
            Background.start(
                maker, runtime, app.state.token_signer, settings, kind="api", prices=prices
            )
            if settings.jobs_embedded_workers
            else None
        )
        if background is not None:
            runtime.state.listeners.append(background.jobs.region_switched)
        log.info("api_started", profile=settings.profile, runtime_mode=settings.runtime_mode)
        try:
            async with app.state.gateways.mcp.running():
                yield
        finally:
            await placement.stop()
            await housekeeper.stop()
            await policies.stop()
            await budget_sweep.stop()
            await price_refresher.stop()
            await ended.stop()
            await canary.stop()
            await checkpoints.stop()
            await app.state.gateways.access.stop()
            if background is not None:
                await background.stop()
            await streams.stop()  # running streams store their terminal events first
            await recorder.stop()
            await app.state.platform.inserts.close()
            await stream_events.stop()
            await quotas.aclose()
            await authenticator.stop()
            await runtime.aclose()
            await engine.dispose()
            if traced is not None:
                tracing.shutdown()

    local = settings.profile == "local"
    app = HotApp(
        title="Agentry API",
        version="1",
        summary="Invoke specialised AI agents: sync, streaming or async.",
        lifespan=lifespan,
        docs_url="/docs" if local else None,
        redoc_url=None,
        openapi_url="/openapi.json" if local else None,
    )
    install_problem_handlers(app)
    install_document(app)
    body_limit, upload_limit = settings.max_payload_bytes, MAX_ARTIFACT_BYTES + 64 * 1024
    app.add_middleware(
        RequestContextMiddleware, max_body_bytes=body_limit, max_upload_bytes=upload_limit
    )
    install_cors(app, settings.cors_origins)

    def hot_stack(inner: ASGIApp) -> ASGIApp:
        context = RequestContextMiddleware(
            inner, max_body_bytes=body_limit, max_upload_bytes=upload_limit
        )
        return cors(context, settings.cors_origins)

    # Served before the stack above is entered, through the same request-context and CORS
    # layers (kit/hot.py): the invoke and stream calls, and job accept (jobs/hot.py).
    app.hot = HotRoutes(hot_stack)
    app.hot.add(*hot_routes(), *job_hot_routes())
    app.include_router(health_router)
    app.include_router(registry_router)
    app.include_router(registry_developer_router)
    app.include_router(invocations_router)
    app.include_router(streams_router)
    app.include_router(identity_router)
    app.include_router(api_keys_router)
    app.include_router(members_router)
    app.include_router(audit_router)
    app.include_router(admin_tenants_router)
    app.include_router(placement_router)
    if local:  # the dev identity provider exists only here; 404 in any other profile
        from agentry.devidp.endpoints import router as dev_idp_router

        app.include_router(dev_idp_router)
    app.include_router(jobs_router)
    app.include_router(ops_router)
    app.include_router(job_callbacks_router)
    app.include_router(webhooks_router)
    app.include_router(agent_auth_router)
    app.include_router(agent_gateway_router)
    app.include_router(a2a_agent_router)
    app.include_router(a2a_protocol_router)
    app.include_router(tools_admin_router)
    app.include_router(tool_targets_router)
    app.include_router(usage_router)
    app.include_router(admin_usage_router)
    app.include_router(billing_router)
    app.include_router(admin_billing_router)
    app.include_router(policies_router)
    app.include_router(admin_policies_router)
    app.include_router(marketplace_router)
    app.include_router(admin_marketplace_router)
    # Both spellings: MCP clients are configured with and without the trailing slash.
    app.router.routes.append(
        Route("/agent/mcp", McpMount(), methods=["POST"], include_in_schema=False)
    )
    app.mount("/agent/mcp", McpMount())
    app.include_router(web_router)
    return app

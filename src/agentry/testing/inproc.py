"""The API app in-process (lifespan run, httpx over ASGI) for fast tests of one behaviour.

End-to-end behaviour is tested through the `stack` fixture (real processes, real HTTP).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI
from pydantic import SecretStr

from agentry.api_keys.service import IssuedKey, issue_key
from agentry.app import create_app
from agentry.config import Settings
from agentry.devidp.server import DevAuthorizationServer
from agentry.identity.principal import Role
from agentry.identity.tokens import JwksCache, TokenSettings, TokenValidator
from agentry.kit.db.engine import session_scope
from agentry.models import Tenant
from agentry.platform import Platform
from agentry.tenants.service import create_tenant, set_entra_ids

TEST_PEPPER = "test-pepper"


@dataclass
class InProcApp:
    app: FastAPI
    settings: Settings
    jwks: JwksCache

    @property
    def platform(self) -> Platform:
        platform: Platform = self.app.state.platform
        return platform

    @property
    def idp(self) -> DevAuthorizationServer:
        idp: DevAuthorizationServer = self.app.state.dev_idp
        return idp

    def client(self, credential: str | None = None) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {credential}"} if credential else {}
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app, client=("10.9.8.7", 1234)),
            base_url="http://test",
            headers=headers,
        )

    async def tenant(
        self, slug: str, *, tier: str = "premium", entra_ids: list[str] | None = None
    ) -> Tenant:
        async with session_scope(self.platform.sessionmaker) as session:
            tenant = await create_tenant(session, slug=slug, display_name=slug, tier=tier)
            if entra_ids:
                await set_entra_ids(session, tenant, entra_ids)
        return tenant

    async def key(self, tenant: Tenant, role: Role = Role.admin, **kw: Any) -> IssuedKey:
        async with session_scope(self.platform.sessionmaker) as session:
            return await issue_key(
                session, tenant, name="k", role=role, pepper=TEST_PEPPER.encode(), **kw
            )


@asynccontextmanager
async def _lifespan(app: Any) -> AsyncIterator[None]:
    """Run the lifespan in a task of its own, as a server does: its task groups (the MCP
    session manager's) must be entered and left by one task, and pytest fixtures set up and
    tear down in different tasks."""
    started, stop = asyncio.Event(), asyncio.Event()

    async def hold() -> None:
        async with app.router.lifespan_context(app):
            started.set()
            await stop.wait()

    task = asyncio.create_task(hold())
    waiter = asyncio.create_task(started.wait())
    await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        waiter.cancel()
        await task  # start-up failed: raise its error
    try:
        yield
    finally:
        stop.set()
        await task


@asynccontextmanager
async def running_app(database_url: str, home: Any, **overrides: Any) -> AsyncIterator[InProcApp]:
    settings = Settings(
        home=home,
        database_url=database_url,
        api_key_pepper=SecretStr(TEST_PEPPER),
        log_json=False,
        log_level="WARNING",
        **overrides,
    )
    app = create_app(settings, migrate=False)
    async with _lifespan(app):
        platform: Platform = app.state.platform
        idp: DevAuthorizationServer = app.state.dev_idp

        async def fetch() -> dict[str, Any]:
            return idp.keys.jwks()

        # Same validator, fed from the dev provider's keys without an HTTP hop.
        jwks = JwksCache(fetch, ttl_s=300, refetch_interval_s=settings.jwks_refetch_interval_s)
        platform.tokens = TokenValidator(
            platform.sessionmaker,
            jwks,
            TokenSettings(
                client_id=settings.effective_entra_client_id,
                issuer_template=settings.effective_issuer_template,
                leeway_s=settings.jwt_leeway_s,
            ),
        )
        yield InProcApp(app, settings, jwks)

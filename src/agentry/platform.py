"""The process-wide objects one API process holds, built once at start-up."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

import httpx
from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from agentry.api_keys.service import ApiKeyAuthenticator
from agentry.audit.service import AuditLog
from agentry.billing.prices import PriceBookCache
from agentry.config import Settings
from agentry.identity.throttle import AuthThrottle
from agentry.identity.tokens import TokenValidator
from agentry.kit.db.batch import GroupCommit
from agentry.kit.db.engine import session_scope
from agentry.registry.routing import RouteCache
from agentry.runtime.base import AgentRuntime


@dataclass(slots=True)
class Platform:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    runtime: AgentRuntime
    authenticator: ApiKeyAuthenticator
    routes: RouteCache
    audit: AuditLog
    prices: PriceBookCache
    inserts: GroupCommit  # group commit for rows many requests insert at once (new jobs)
    tokens: TokenValidator | None = None
    throttle: AuthThrottle | None = None

    async def runtime_ready(self) -> bool:
        if self.settings.profile == "aws":
            return True  # AgentCore has no cheap health call; invocations surface its errors.
        # The active region's emulator: a dead standby (or a dead old region) must not take
        # every replica out of the load balancer.
        urls = getattr(self.runtime, "urls", {})
        state = getattr(self.runtime, "state", None)
        url = (
            urls.get(state.active, self.settings.runtime_url)
            if state
            else self.settings.runtime_url
        )
        try:
            async with httpx.AsyncClient(timeout=2.0) as client:
                response = await client.get(f"{url}/ping")
            return response.status_code == 200
        except httpx.HTTPError:
            return False


def get_platform(request: Request) -> Platform:
    platform: Platform = request.app.state.platform
    return platform


async def _platform_dependency(request: Request) -> Platform:
    return get_platform(request)


PlatformDep = Annotated[Platform, Depends(_platform_dependency)]


async def get_db_session(platform: PlatformDep) -> AsyncIterator[AsyncSession]:
    """The request's one commit point: commits after the endpoint returns, rolls back on error."""
    async with session_scope(platform.sessionmaker) as session:
        yield session


# scope="function": commit before the response is sent, so a 2xx is never ahead of its data.
DbSession = Annotated[AsyncSession, Depends(get_db_session, scope="function")]

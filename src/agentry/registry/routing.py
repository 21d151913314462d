"""Resolve (agent name, alias) to the runtime endpoint to call, with a short in-memory cache.

Resolution is on every invocation, so it is cached for `ttl_s`; a push or alias move in this
process invalidates at once, other replicas see it within `ttl_s`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agentry.kit.clock import monotonic
from agentry.kit.errors import Forbidden, NotFound
from agentry.registry.repository import (
    AgentAliasRepository,
    AgentRepository,
    AgentVersionRepository,
)
from agentry.runtime.base import RuntimeTarget


class AgentNotFound(NotFound):
    code = "agent_not_found"
    title = "No such agent"


class AliasNotFound(NotFound):
    code = "alias_not_found"
    title = "No such alias for this agent"


class AgentNotInTier(Forbidden):
    code = "agent_not_in_tier"
    title = "The agent is not available on this tier"


@dataclass(frozen=True, slots=True)
class Route:
    agent_id: str
    agent_name: str
    alias: str
    version_number: int
    target: RuntimeTarget
    allowed_tiers: frozenset[str]
    modes: frozenset[str]
    sync_timeout_s: float | None = None  # the version manifest's limits.sync_timeout_s
    job_deadline_s: int | None = None  # ... and its limits.job_deadline_s
    allowed_tenants: frozenset[str] = frozenset()
    # While a canary runs: `canary_weight`% of new sessions go to `canary_target`.
    canary_version_number: int | None = None
    canary_target: RuntimeTarget | None = None
    canary_weight: int = 0
    tools: frozenset[str] = frozenset()
    uses_gateways: bool = False
    agents: frozenset[str] = frozenset()  # agents it may delegate to (manifest `agents`)
    description: str = ""

    def check_tier(self, tier: str, tenant_slug: str = "") -> None:
        if self.allowed_tiers and tier not in self.allowed_tiers:
            raise AgentNotInTier(
                f"Agent '{self.agent_name}' is available on the "
                f"{', '.join(sorted(self.allowed_tiers))} tier(s)."
            )
        if self.allowed_tenants and tenant_slug not in self.allowed_tenants:
            raise AgentNotInTier(f"Agent '{self.agent_name}' is not available to this tenant.")

    def pick(self, bucket: int) -> tuple[int, RuntimeTarget]:
        """The version and endpoint for a new session whose sticky bucket (0-99) is given."""
        if (
            self.canary_target is not None
            and self.canary_version_number is not None
            and bucket < self.canary_weight
        ):
            return self.canary_version_number, self.canary_target
        return self.version_number, self.target


def gateway_tools(manifest: dict[str, Any]) -> frozenset[str] | None:
    """The tools a version's manifest declares; None when it uses neither gateway."""
    tools = frozenset(manifest.get("tools") or ())
    return tools if tools or manifest.get("model") or manifest.get("agents") else None


def delegates(manifest: dict[str, Any]) -> frozenset[str]:
    """The agents a version's manifest may delegate to."""
    return frozenset(str(a) for a in manifest.get("agents") or ())


def canary_endpoint(alias: str) -> str:
    """The AgentCore runtime endpoint that serves an alias's canary version."""
    return f"{alias}_canary"


class RouteCache:
    def __init__(self, maker: async_sessionmaker[AsyncSession], ttl_s: float = 2.0) -> None:
        self._maker = maker
        self._ttl_s = ttl_s
        self._cache: dict[tuple[str, str], tuple[Route, float]] = {}
        self._loading: dict[tuple[str, str], asyncio.Future[Route]] = {}

    async def resolve(self, agent_name: str, alias: str) -> Route:
        key = (agent_name, alias)
        hit = self._cache.get(key)
        if hit is not None and hit[1] > monotonic():
            return hit[0]
        # One load per key at a time: when the entry expires under load, the calls that
        # arrive meanwhile wait for that load instead of each reading the database.
        loading = self._loading.get(key)
        if loading is None:
            loading = asyncio.ensure_future(self._load(agent_name, alias))
            self._loading[key] = loading
            loading.add_done_callback(lambda f: self._store(key, f))
        return await asyncio.shield(loading)

    def _store(self, key: tuple[str, str], loaded: asyncio.Future[Route]) -> None:
        if self._loading.get(key) is loaded:
            del self._loading[key]
            if not loaded.cancelled() and loaded.exception() is None:
                self._cache[key] = (loaded.result(), monotonic() + self._ttl_s)

    def invalidate(self, agent_name: str | None = None) -> None:
        # A load in flight read the old state: it answers its waiters but is not cached.
        if agent_name is None:
            self._cache.clear()
            self._loading.clear()
            return
        for key in [k for k in self._cache if k[0] == agent_name]:
            del self._cache[key]
        for key in [k for k in self._loading if k[0] == agent_name]:
            del self._loading[key]

    async def _load(self, agent_name: str, alias_name: str) -> Route:
        async with self._maker() as session:
            agent = await AgentRepository(session).get_by_name(agent_name)
            if agent is None or agent.runtime_arn is None:
                raise AgentNotFound(f"No agent named '{agent_name}'.")
            alias = await AgentAliasRepository(session).get_by_name(agent.id, alias_name)
            if alias is None:
                raise AliasNotFound(f"Agent '{agent_name}' has no alias '{alias_name}'.")
            version = await AgentVersionRepository(session).get_by_number(
                agent.id, alias.version_number
            )
        manifest = version.manifest if version is not None else {}
        limits = manifest.get("limits") or {}
        timeout = limits.get("sync_timeout_s")
        deadline = limits.get("job_deadline_s")
        tools = gateway_tools(manifest)
        return Route(
            agent_id=agent.id,
            agent_name=agent.name,
            alias=alias.name,
            version_number=alias.version_number,
            target=RuntimeTarget(runtime_arn=agent.runtime_arn, qualifier=alias.name),
            allowed_tiers=frozenset(agent.allowed_tiers),
            modes=frozenset(agent.modes),
            sync_timeout_s=float(timeout) if isinstance(timeout, int | float) else None,
            job_deadline_s=int(deadline) if isinstance(deadline, int | float) else None,
            allowed_tenants=frozenset(agent.allowed_tenants),
            canary_version_number=alias.canary_version_number,
            canary_target=(
                RuntimeTarget(runtime_arn=agent.runtime_arn, qualifier=canary_endpoint(alias.name))
                if alias.canary_version_number is not None
                else None
            ),
            canary_weight=alias.canary_weight,
            tools=tools or frozenset(),
            uses_gateways=tools is not None,
            agents=delegates(manifest),
            description=agent.description or str(manifest.get("description") or ""),
        )

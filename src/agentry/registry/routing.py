"""Resolve (agent name, alias) to the runtime endpoint to call, with a short in-memory cache.

Resolution is on every invocation, so it is cached for `ttl_s`; a push or alias move in this
process invalidates at once, other replicas see it within `ttl_s`.
"""

from __future__ import annotations

from dataclasses import dataclass

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
    tools: frozenset[str] = frozenset()
    uses_gateways: bool = False

    def check_tier(self, tier: str) -> None:
        if self.allowed_tiers and tier not in self.allowed_tiers:
            raise AgentNotInTier(
                f"Agent '{self.agent_name}' is available on the "
                f"{', '.join(sorted(self.allowed_tiers))} tier(s)."
            )


class RouteCache:
    def __init__(self, maker: async_sessionmaker[AsyncSession], ttl_s: float = 2.0) -> None:
        self._maker = maker
        self._ttl_s = ttl_s
        self._cache: dict[tuple[str, str], tuple[Route, float]] = {}

    async def resolve(self, agent_name: str, alias: str) -> Route:
        key = (agent_name, alias)
        hit = self._cache.get(key)
        if hit is not None and hit[1] > monotonic():
            return hit[0]
        route = await self._load(agent_name, alias)
        self._cache[key] = (route, monotonic() + self._ttl_s)
        return route

    def invalidate(self, agent_name: str | None = None) -> None:
        if agent_name is None:
            self._cache.clear()
            return
        for key in [k for k in self._cache if k[0] == agent_name]:
            del self._cache[key]

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
        tools = frozenset(manifest.get("tools") or ())
        return Route(
            agent_id=agent.id,
            agent_name=agent.name,
            alias=alias.name,
            version_number=alias.version_number,
            target=RuntimeTarget(runtime_arn=agent.runtime_arn, qualifier=alias.name),
            allowed_tiers=frozenset(agent.allowed_tiers),
            modes=frozenset(agent.modes),
            tools=tools,
            uses_gateways=bool(tools) or bool(manifest.get("model")),
        )

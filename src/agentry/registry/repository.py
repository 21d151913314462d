from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select

from agentry.kit.repository import RepositoryBase
from agentry.models import Agent, AgentAlias, AgentVersion


class AgentRepository(RepositoryBase[Agent]):
    model = Agent

    async def get_by_name(self, name: str) -> Agent | None:
        result = await self.session.execute(select(Agent).where(Agent.name == name))
        return result.scalar_one_or_none()

    async def list_all(self) -> Sequence[Agent]:
        result = await self.session.execute(select(Agent).order_by(Agent.name))
        return result.scalars().all()


class AgentVersionRepository(RepositoryBase[AgentVersion]):
    model = AgentVersion

    async def get_by_number(self, agent_id: str, number: int) -> AgentVersion | None:
        result = await self.session.execute(
            select(AgentVersion).where(
                AgentVersion.agent_id == agent_id, AgentVersion.number == number
            )
        )
        return result.scalar_one_or_none()

    async def get_by_digest(self, agent_id: str, digest: str) -> AgentVersion | None:
        result = await self.session.execute(
            select(AgentVersion).where(
                AgentVersion.agent_id == agent_id, AgentVersion.digest == digest
            )
        )
        return result.scalar_one_or_none()

    async def next_number(self, agent_id: str) -> int:
        result = await self.session.execute(
            select(func.max(AgentVersion.number)).where(AgentVersion.agent_id == agent_id)
        )
        return (result.scalar_one_or_none() or 0) + 1

    async def list_for_agent(self, agent_id: str) -> Sequence[AgentVersion]:
        result = await self.session.execute(
            select(AgentVersion)
            .where(AgentVersion.agent_id == agent_id)
            .order_by(AgentVersion.number)
        )
        return result.scalars().all()

    async def numbers_for_agents(self, agent_ids: Sequence[str]) -> Sequence[tuple[str, int, Any]]:
        """(agent_id, number, created_at) of every version of these agents, oldest first."""
        result = await self.session.execute(
            select(AgentVersion.agent_id, AgentVersion.number, AgentVersion.created_at)
            .where(AgentVersion.agent_id.in_(agent_ids))
            .order_by(AgentVersion.agent_id, AgentVersion.number)
        )
        return [(a, n, c) for a, n, c in result.tuples().all()]


class AgentAliasRepository(RepositoryBase[AgentAlias]):
    model = AgentAlias

    async def get_by_name(self, agent_id: str, name: str) -> AgentAlias | None:
        result = await self.session.execute(
            select(AgentAlias).where(AgentAlias.agent_id == agent_id, AgentAlias.name == name)
        )
        return result.scalar_one_or_none()

    async def list_for_agents(self, agent_ids: Sequence[str]) -> Sequence[AgentAlias]:
        result = await self.session.execute(
            select(AgentAlias)
            .where(AgentAlias.agent_id.in_(agent_ids))
            .order_by(AgentAlias.agent_id, AgentAlias.name)
        )
        return result.scalars().all()

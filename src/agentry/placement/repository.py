"""SQL of placement: the one placement row, and every agent's runtime per region."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from agentry.kit.repository import RepositoryBase
from agentry.models import Agent, RuntimePlacement
from agentry.models.runtime_placement import PLACEMENT_ID


class PlacementRepository(RepositoryBase[RuntimePlacement]):
    model = RuntimePlacement

    async def current(self) -> RuntimePlacement | None:
        return await self.get(PLACEMENT_ID)

    async def current_for_update(self) -> RuntimePlacement | None:
        stmt = select(RuntimePlacement).where(RuntimePlacement.id == PLACEMENT_ID)
        stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def region_maps(self) -> list[tuple[str, dict[str, Any]]]:
        """(canonical ARN, region map) of every agent with a runtime."""
        stmt = select(Agent.runtime_arn, Agent.region_runtimes).where(
            Agent.runtime_arn.is_not(None)
        )
        rows = (await self.session.execute(stmt)).all()
        return [(str(arn), dict(regions or {})) for arn, regions in rows]

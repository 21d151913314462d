from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select

from agentry.kit.repository import RepositoryBase
from agentry.models import ToolGrant, ToolTarget


class ToolGrantRepository(RepositoryBase[ToolGrant]):
    model = ToolGrant

    async def list_all(self) -> Sequence[ToolGrant]:
        return (
            (await self.session.execute(select(ToolGrant).order_by(ToolGrant.tool))).scalars().all()
        )

    async def last_change(self) -> datetime | None:
        result = await self.session.execute(
            select(ToolGrant.updated_at).order_by(ToolGrant.updated_at.desc()).limit(1)
        )
        value: datetime | None = result.scalar_one_or_none()
        return value

    async def upsert(self, tool: str, tiers: list[str], updated_by: str, at: datetime) -> ToolGrant:
        grant = await self.session.get(ToolGrant, tool)
        if grant is None:
            grant = ToolGrant(tool=tool, tiers=tiers, updated_by=updated_by, updated_at=at)
            self.session.add(grant)
        else:
            grant.tiers, grant.updated_by, grant.updated_at = tiers, updated_by, at
        await self.session.flush()
        return grant

    async def delete_prefixed(self, prefix: str) -> None:
        """Forget operators' grants of a removed target's tools (`prefix` is `target___`)."""
        await self.session.execute(
            delete(ToolGrant).where(ToolGrant.tool.startswith(prefix, autoescape=True))
        )


class ToolTargetRepository(RepositoryBase[ToolTarget]):
    model = ToolTarget

    async def list_all(self) -> Sequence[ToolTarget]:
        result = await self.session.execute(select(ToolTarget).order_by(ToolTarget.name))
        return result.scalars().all()

    async def versions(self) -> tuple[tuple[str, datetime], ...]:
        """Each target's name and last change: what replicas poll to notice any change."""
        result = await self.session.execute(
            select(ToolTarget.name, ToolTarget.updated_at).order_by(ToolTarget.name)
        )
        return tuple((name, at) for name, at in result.all())

    async def delete(self, target: ToolTarget) -> None:
        await self.session.delete(target)
        await self.session.flush()

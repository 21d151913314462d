from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from agentry.kit.ids import new_id
from agentry.kit.repository import TenantScopedRepository
from agentry.models import PolicySet, PolicyVersion


class PolicySetRepository(TenantScopedRepository[PolicySet]):
    """A tenant's policy set (or the platform's: tenant_id "platform")."""

    model = PolicySet

    async def current(self) -> PolicySet | None:
        result = await self.session.execute(self.scoped())
        return result.scalar_one_or_none()

    async def ensure(self, actor: str, at: datetime) -> PolicySet:
        found = await self.current()
        if found is None:
            found = PolicySet(
                id=new_id("pol"), tenant_id=self.tenant_id, updated_by=actor, updated_at=at
            )
            await self.add(found)
        return found


class PolicyVersionRepository(TenantScopedRepository[PolicyVersion]):
    model = PolicyVersion

    async def list(self) -> Sequence[PolicyVersion]:
        result = await self.session.execute(self.scoped().order_by(PolicyVersion.number))
        return result.scalars().all()

    async def by_number(self, number: int) -> PolicyVersion | None:
        result = await self.session.execute(self.scoped().where(PolicyVersion.number == number))
        return result.scalar_one_or_none()

    async def next_number(self) -> int:
        result = await self.session.execute(
            select(func.max(PolicyVersion.number)).where(PolicyVersion.tenant_id == self.tenant_id)
        )
        return int(result.scalar_one_or_none() or 0) + 1

    async def last_enforced_before(self, number: int) -> PolicyVersion | None:
        """The version enforced most recently other than `number` (what a rollback restores)."""
        result = await self.session.execute(
            self.scoped()
            .where(PolicyVersion.enforced_at.is_not(None), PolicyVersion.number != number)
            .order_by(PolicyVersion.enforced_at.desc())
            .limit(1)
        )
        return result.scalar_one_or_none()


class PolicyLoadRepository:
    """What every API process loads: all sets with an active version (cross-tenant by design)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def stamp(self) -> tuple[int, datetime | None]:
        result = await self.session.execute(
            select(  # scoping: exempt (every API process loads every set)
                func.count(PolicySet.id), func.max(PolicySet.updated_at)
            )
        )
        count, last = result.one()
        return int(count), last

    async def active(self) -> list[tuple[str, int | None, int | None, dict[int, str]]]:
        result = await self.session.execute(
            select(PolicySet)  # scoping: exempt (every API process loads every set)
        )
        out: list[tuple[str, int | None, int | None, dict[int, str]]] = []
        for s in result.scalars().all():
            numbers = {n for n in (s.enforced_version, s.shadow_version) if n is not None}
            texts: dict[int, str] = {}
            if numbers:
                rows = await self.session.execute(
                    select(  # scoping: exempt (every API process loads every set)
                        PolicyVersion.number, PolicyVersion.text
                    ).where(
                        PolicyVersion.tenant_id == s.tenant_id,
                        PolicyVersion.number.in_(numbers),
                    )
                )
                texts = {int(n): str(t) for n, t in rows.all()}
            out.append((s.tenant_id, s.enforced_version, s.shadow_version, texts))
        return out

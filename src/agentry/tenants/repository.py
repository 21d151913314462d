from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agentry.kit.repository import RepositoryBase, TenantScopedRepository
from agentry.models import Tenant, TenantEntraId


class TenantRepository(RepositoryBase[Tenant]):
    model = Tenant

    async def get_by_slug(self, slug: str) -> Tenant | None:
        result = await self.session.execute(select(Tenant).where(Tenant.slug == slug))
        return result.scalar_one_or_none()

    async def list(self) -> Sequence[Tenant]:
        result = await self.session.execute(select(Tenant).order_by(Tenant.created_at))
        return result.scalars().all()

    async def delete(self, tenant: Tenant) -> None:
        await self.session.delete(tenant)
        await self.session.flush()


class TenantEntraIdRepository(TenantScopedRepository[TenantEntraId]):
    model = TenantEntraId

    async def list_ids(self) -> list[str]:
        result = await self.session.execute(self.scoped())
        return sorted(m.entra_tenant_id for m in result.scalars())


class EntraMappingAuthRepository(RepositoryBase[TenantEntraId]):
    """Authentication entry point: the token's `tid` establishes the caller's tenant."""

    model = TenantEntraId

    async def tenant_for(self, entra_tenant_id: str) -> Tenant | None:
        stmt = (
            select(Tenant)
            .join(TenantEntraId, TenantEntraId.tenant_id == Tenant.id)  # scoping: exempt (auth)
            .where(TenantEntraId.entra_tenant_id == entra_tenant_id)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def owner_of(self, entra_tenant_id: str) -> str | None:
        row = await self.session.get(TenantEntraId, entra_tenant_id)  # scoping: exempt (unique)
        return None if row is None else row.tenant_id


def tenant_rows(
    model: type[Any], session: AsyncSession, tenant_id: str
) -> TenantScopedRepository[Any]:
    """A scoped repository for any tenant-owned table (used by tenant erasure)."""
    cls = type(f"{model.__name__}Rows", (TenantScopedRepository,), {"model": model})
    repo: TenantScopedRepository[Any] = cls(session, tenant_id)
    return repo

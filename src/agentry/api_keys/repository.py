from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from agentry.kit.repository import TenantScopedRepository
from agentry.models import ApiKey, Tenant


class ApiKeyRepository(TenantScopedRepository[ApiKey]):
    model = ApiKey

    async def list(self) -> list[ApiKey]:
        result = await self.session.execute(self.scoped().order_by(ApiKey.created_at))
        return list(result.scalars())


class ApiKeyAuthRepository:
    """Authentication entry point: finds a key by its hash before any tenant is known.

    This is the one deliberate cross-tenant read: the key establishes the caller's tenant.
    """

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def lookup_by_hash(self, key_hash: str) -> tuple[ApiKey, Tenant] | None:
        stmt = (
            select(ApiKey, Tenant)  # scoping: exempt (authentication lookup)
            .join(Tenant, Tenant.id == ApiKey.tenant_id)
            .where(ApiKey.key_hash == key_hash)
        )
        row = (await self.session.execute(stmt)).first()
        return None if row is None else (row[0], row[1])

    async def record_last_used(self, last_used: dict[str, datetime]) -> None:
        for key_id, when in last_used.items():
            await self.session.execute(
                update(ApiKey)  # scoping: exempt (background flush by primary key)
                .where(ApiKey.id == key_id)
                .values(last_used_at=when)
            )

    async def rehash(self, key_id: str, key_hash: str) -> None:
        """The same key under the newest pepper (pepper rotation)."""
        await self.session.execute(
            update(ApiKey)  # scoping: exempt (authentication, by primary key)
            .where(ApiKey.id == key_id)
            .values(key_hash=key_hash)
        )

from __future__ import annotations

from sqlalchemy import select

from agentry.kit.repository import RepositoryBase
from agentry.models import Tenant


class TenantRepository(RepositoryBase[Tenant]):
    model = Tenant

    async def get_by_slug(self, slug: str) -> Tenant | None:
        result = await self.session.execute(select(Tenant).where(Tenant.slug == slug))
        return result.scalar_one_or_none()

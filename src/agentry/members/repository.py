from __future__ import annotations

from sqlalchemy import delete

from agentry.kit.repository import TenantScopedRepository
from agentry.models import TenantMember


class MemberRepository(TenantScopedRepository[TenantMember]):
    model = TenantMember

    async def list(self) -> list[TenantMember]:
        result = await self.session.execute(self.scoped().order_by(TenantMember.email))
        return list(result.scalars())

    async def by_email(self, email: str) -> TenantMember | None:
        result = await self.session.execute(self.scoped().where(TenantMember.email == email))
        return result.scalar_one_or_none()

    async def remove(self, member_id: str) -> bool:
        result = await self.session.execute(
            delete(TenantMember).where(
                TenantMember.tenant_id == self.tenant_id, TenantMember.id == member_id
            )
        )
        return bool(getattr(result, "rowcount", 0))

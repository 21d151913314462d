from __future__ import annotations

import re

from sqlalchemy.ext.asyncio import AsyncSession

from agentry.kit.errors import Conflict, ValidationFailed
from agentry.kit.ids import new_id
from agentry.models import Tenant
from agentry.models.tenant import Tier
from agentry.tenants.repository import TenantRepository

_SLUG = re.compile(r"^[a-z][a-z0-9-]{1,62}$")


class TenantExists(Conflict):
    code = "tenant_exists"
    title = "A tenant with this slug exists"


async def create_tenant(
    session: AsyncSession, *, slug: str, display_name: str, tier: str
) -> Tenant:
    if not _SLUG.match(slug):
        raise ValidationFailed(
            "slug must be 2-63 chars of a-z, 0-9 and '-', starting with a letter"
        )
    if tier not in Tier.__members__:
        raise ValidationFailed(f"tier must be one of {', '.join(Tier.__members__)}")
    repo = TenantRepository(session)
    if await repo.get_by_slug(slug) is not None:
        raise TenantExists(f"Tenant '{slug}' already exists.")
    return await repo.add(Tenant(id=new_id("ten"), slug=slug, display_name=display_name, tier=tier))

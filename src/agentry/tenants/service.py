from __future__ import annotations

import re

from sqlalchemy.ext.asyncio import AsyncSession

from agentry.api_keys.service import IssuedKey, issue_key
from agentry.identity.principal import Role
from agentry.kit.errors import Conflict, Forbidden, NotFound, ValidationFailed
from agentry.kit.ids import new_id
from agentry.kit.text import is_label
from agentry.models import TENANT_OWNED, Tenant, TenantEntraId
from agentry.models.tenant import TenantStatus, Tier
from agentry.tenants.repository import (
    EntraMappingAuthRepository,
    TenantEntraIdRepository,
    TenantRepository,
    tenant_rows,
)

_SLUG = re.compile(r"^[a-z][a-z0-9-]{1,62}$")
PLATFORM_SLUG = "platform"


class TenantExists(Conflict):
    code = "tenant_exists"
    title = "A tenant with this slug exists"


class TenantNotFound(NotFound):
    code = "tenant_not_found"
    title = "No such tenant"


class EntraTenantTaken(Conflict):
    code = "entra_tenant_taken"
    title = "That Entra tenant id already belongs to another tenant"


class PlatformTenantProtected(Forbidden):
    code = "platform_tenant_protected"
    title = "The platform tenant cannot be suspended or erased"


async def create_tenant(
    session: AsyncSession, *, slug: str, display_name: str, tier: str
) -> Tenant:
    if not _SLUG.match(slug):
        raise ValidationFailed(
            "slug must be 2-63 chars of a-z, 0-9 and '-', starting with a letter"
        )
    if not display_name or len(display_name) > 200 or not is_label(display_name):
        raise ValidationFailed("name must be 1-200 characters without control characters")
    if tier not in Tier.__members__:
        raise ValidationFailed(f"tier must be one of {', '.join(Tier.__members__)}")
    repo = TenantRepository(session)
    if await repo.get_by_slug(slug) is not None:
        raise TenantExists(f"Tenant '{slug}' already exists.")
    return await repo.add(Tenant(id=new_id("ten"), slug=slug, display_name=display_name, tier=tier))


async def get_tenant(session: AsyncSession, tenant_id: str) -> Tenant:
    tenant = await TenantRepository(session).get(tenant_id)
    if tenant is None:
        raise TenantNotFound("No such tenant.")
    return tenant


async def entra_ids(session: AsyncSession, tenant: Tenant) -> list[str]:
    return await TenantEntraIdRepository(session, tenant.id).list_ids()


async def set_entra_ids(session: AsyncSession, tenant: Tenant, ids: list[str]) -> None:
    mapping = EntraMappingAuthRepository(session)
    for tid in ids:
        owner = await mapping.owner_of(tid)
        if owner is not None and owner != tenant.id:
            raise EntraTenantTaken(f"Entra tenant '{tid}' is mapped to another tenant.")
    repo = TenantEntraIdRepository(session, tenant.id)
    await repo.delete_all()
    for tid in sorted(set(ids)):
        await repo.add(TenantEntraId(entra_tenant_id=tid, tenant_id=tenant.id))


async def onboard(
    session: AsyncSession,
    *,
    slug: str,
    name: str,
    tier: str,
    entra_tenant_ids: list[str],
    pepper: bytes,
    created_by: str,
) -> tuple[Tenant, IssuedKey]:
    tenant = await create_tenant(session, slug=slug, display_name=name, tier=tier)
    await set_entra_ids(session, tenant, entra_tenant_ids)
    key = await issue_key(
        session,
        tenant,
        name="first admin key",
        role=Role.admin,
        pepper=pepper,
        created_by=created_by,
    )
    return tenant, key


async def set_status(session: AsyncSession, tenant: Tenant, status: TenantStatus) -> None:
    if tenant.slug == PLATFORM_SLUG and status is TenantStatus.suspended:
        raise PlatformTenantProtected("The platform tenant cannot be suspended.")
    tenant.status = status.value
    await session.flush()


async def erase(session: AsyncSession, tenant: Tenant) -> dict[str, int]:
    """Delete every row the tenant owns, then the tenant. The caller pseudonymises audit rows."""
    if tenant.slug == PLATFORM_SLUG:
        raise PlatformTenantProtected("The platform tenant cannot be erased.")
    deleted = {}
    for model in TENANT_OWNED:
        deleted[model.__tablename__] = await tenant_rows(model, session, tenant.id).delete_all()
    await TenantRepository(session).delete(tenant)
    return deleted

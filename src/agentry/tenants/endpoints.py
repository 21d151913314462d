"""Operator tenant administration (`/v1/admin/tenants`). Every action is audited."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncSession

from agentry.identity.auth import Operator
from agentry.identity.principal import Principal
from agentry.kit.openapi import problem_responses
from agentry.models import Tenant
from agentry.models.tenant import TenantStatus
from agentry.platform import DbSession, Platform, PlatformDep
from agentry.tenants import service
from agentry.tenants.repository import TenantRepository
from agentry.tenants.schemas import (
    TenantErased,
    TenantList,
    TenantOnboard,
    TenantOnboarded,
    TenantRead,
    TenantUpdate,
)

router = APIRouter(prefix="/v1/admin/tenants", tags=["admin"])
_ERR = problem_responses(401, 403, 404, 409, 422)


async def _read(session: AsyncSession, tenant: Tenant) -> TenantRead:
    return TenantRead(
        id=tenant.id,
        slug=tenant.slug,
        display_name=tenant.display_name,
        tier=tenant.tier,
        status=tenant.status,
        created_at=tenant.created_at,
        entra_tenant_ids=await service.entra_ids(session, tenant),
    )


async def _audit(
    platform: Platform,
    session: AsyncSession,
    principal: Principal,
    action: str,
    target: str,
    **details: Any,
) -> None:
    await platform.audit.append(
        session,
        actor=principal.actor,
        action=action,
        actor_tenant_id=principal.tenant_id,
        target_tenant_id=target,
        details=details,
    )


def _forget(platform: Platform) -> None:
    platform.authenticator.forget()
    if platform.tokens is not None:
        platform.tokens.forget()


@router.get("", response_model=TenantList, responses=_ERR)
async def list_tenants(_op: Operator, session: DbSession) -> TenantList:
    tenants = await TenantRepository(session).list()
    return TenantList(items=[await _read(session, t) for t in tenants])


@router.post("", status_code=201, response_model=TenantOnboarded, responses=_ERR)
async def onboard(
    body: TenantOnboard, principal: Operator, session: DbSession, platform: PlatformDep
) -> TenantOnboarded:
    """Create a tenant with its Entra tenant ids and first admin key (shown once)."""
    tenant, key = await service.onboard(
        session,
        slug=body.slug,
        name=body.name,
        tier=body.tier.value,
        entra_tenant_ids=body.entra_tenant_ids,
        pepper=platform.authenticator.pepper,
        created_by=principal.actor,
    )
    await _audit(
        platform,
        session,
        principal,
        "tenant.onboard",
        tenant.id,
        tier=tenant.tier,
        admin_key_id=key.key.id,
    )
    read = await _read(session, tenant)
    await session.commit()
    _forget(platform)  # an unknown tid may be cached as "not onboarded"
    return TenantOnboarded(**read.model_dump(), admin_key=key.secret, admin_key_id=key.key.id)


@router.get("/{tenant_id}", response_model=TenantRead, responses=_ERR)
async def get_tenant(tenant_id: str, _op: Operator, session: DbSession) -> TenantRead:
    return await _read(session, await service.get_tenant(session, tenant_id))


@router.patch("/{tenant_id}", response_model=TenantRead, responses=_ERR)
async def update_tenant(
    tenant_id: str,
    body: TenantUpdate,
    principal: Operator,
    session: DbSession,
    platform: PlatformDep,
) -> TenantRead:
    """Change the tier and/or the Entra tenant ids."""
    tenant = await service.get_tenant(session, tenant_id)
    if body.tier is not None and body.tier.value != tenant.tier:
        before = tenant.tier
        tenant.tier = body.tier.value
        await _audit(
            platform,
            session,
            principal,
            "tenant.tier",
            tenant.id,
            before=before,
            after=tenant.tier,
        )
    if body.entra_tenant_ids is not None:
        await service.set_entra_ids(session, tenant, body.entra_tenant_ids)
        await _audit(
            platform,
            session,
            principal,
            "tenant.entra_ids",
            tenant.id,
            entra_tenant_ids=body.entra_tenant_ids,
        )
    read = await _read(session, tenant)
    await session.commit()
    _forget(platform)
    return read


async def _status(
    tenant_id: str,
    status: TenantStatus,
    principal: Principal,
    session: AsyncSession,
    platform: Platform,
) -> TenantRead:
    tenant = await service.get_tenant(session, tenant_id)
    await service.set_status(session, tenant, status)
    action = "tenant.suspend" if status is TenantStatus.suspended else "tenant.reactivate"
    await _audit(platform, session, principal, action, tenant.id)
    read = await _read(session, tenant)
    await session.commit()
    _forget(platform)
    return read


@router.post("/{tenant_id}/suspend", response_model=TenantRead, responses=_ERR)
async def suspend(
    tenant_id: str, principal: Operator, session: DbSession, platform: PlatformDep
) -> TenantRead:
    """Every call with the tenant's credentials gets 403 `tenant_suspended` from now on."""
    return await _status(tenant_id, TenantStatus.suspended, principal, session, platform)


@router.post("/{tenant_id}/reactivate", response_model=TenantRead, responses=_ERR)
async def reactivate(
    tenant_id: str, principal: Operator, session: DbSession, platform: PlatformDep
) -> TenantRead:
    return await _status(tenant_id, TenantStatus.active, principal, session, platform)


@router.delete("/{tenant_id}", response_model=TenantErased, responses=_ERR)
async def erase(
    tenant_id: str, principal: Operator, session: DbSession, platform: PlatformDep
) -> TenantErased:
    """Delete the tenant and all its rows; its audit entries stay, pseudonymised."""
    tenant = await service.get_tenant(session, tenant_id)
    deleted = await service.erase(session, tenant)
    await platform.audit.erase_tenant(session, tenant.id)
    # The erase event itself names the tenant only by pseudonym.
    await _audit(
        platform,
        session,
        principal,
        "tenant.erase",
        platform.audit.pseudonym(tenant.id) or "",
        rows_deleted=deleted,
    )
    await session.commit()
    _forget(platform)
    return TenantErased(id=tenant_id, erased=True, rows_deleted=deleted)

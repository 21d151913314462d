from __future__ import annotations

from fastapi import APIRouter

from agentry.api_keys import service
from agentry.api_keys.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyList,
    ApiKeyRead,
    ApiKeyRotate,
)
from agentry.identity.auth import KeyAdmin
from agentry.kit.openapi import problem_responses
from agentry.models import ApiKey
from agentry.platform import DbSession, PlatformDep

router = APIRouter(prefix="/v1/api-keys", tags=["api-keys"])


def _read(key: ApiKey) -> ApiKeyRead:
    return ApiKeyRead.model_validate(key, from_attributes=True)


@router.get("", response_model=ApiKeyList, responses=problem_responses(401, 403))
async def list_keys(principal: KeyAdmin, session: DbSession) -> ApiKeyList:
    """Your tenant's keys (never their secrets)."""
    return ApiKeyList(items=[_read(k) for k in await service.list_keys(session, principal)])


@router.post(
    "", status_code=201, response_model=ApiKeyCreated, responses=problem_responses(401, 403, 422)
)
async def create_key(
    body: ApiKeyCreate, principal: KeyAdmin, session: DbSession, platform: PlatformDep
) -> ApiKeyCreated:
    """Create a key. The secret is in this answer only."""
    issued = await service.create_key(
        session,
        principal,
        name=body.name,
        scopes=frozenset(body.scopes),
        expires_at=body.expires_at,
        pepper=platform.authenticator.pepper,
    )
    await platform.audit.append(
        session,
        actor=principal.actor,
        action="api_key.create",
        actor_tenant_id=principal.tenant_id,
        target_tenant_id=principal.tenant_id,
        details={"key_id": issued.key.id, "scopes": issued.key.scopes},
    )
    return ApiKeyCreated(**_read(issued.key).model_dump(), secret=issued.secret)


@router.delete("/{key_id}", response_model=ApiKeyRead, responses=problem_responses(401, 403, 404))
async def revoke_key(
    key_id: str, principal: KeyAdmin, session: DbSession, platform: PlatformDep
) -> ApiKeyRead:
    """Revoke a key at once."""
    key = await service.revoke_key(session, principal, key_id)
    await platform.audit.append(
        session,
        actor=principal.actor,
        action="api_key.revoke",
        actor_tenant_id=principal.tenant_id,
        target_tenant_id=principal.tenant_id,
        details={"key_id": key.id},
    )
    await session.commit()
    platform.authenticator.forget()
    return _read(key)


@router.post(
    "/{key_id}/rotate",
    status_code=201,
    response_model=ApiKeyCreated,
    responses=problem_responses(401, 403, 404, 422),
)
async def rotate_key(
    key_id: str,
    principal: KeyAdmin,
    session: DbSession,
    platform: PlatformDep,
    body: ApiKeyRotate | None = None,
) -> ApiKeyCreated:
    """A new key with the same scopes; the old one keeps working until the chosen expiry."""
    body = body or ApiKeyRotate()
    old, issued = await service.rotate_key(
        session,
        principal,
        key_id,
        old_key_expires_in_s=body.old_key_expires_in_s,
        pepper=platform.authenticator.pepper,
    )
    await platform.audit.append(
        session,
        actor=principal.actor,
        action="api_key.rotate",
        actor_tenant_id=principal.tenant_id,
        target_tenant_id=principal.tenant_id,
        details={"key_id": old.id, "new_key_id": issued.key.id},
    )
    await session.commit()
    platform.authenticator.forget()
    return ApiKeyCreated(**_read(issued.key).model_dump(), secret=issued.secret)

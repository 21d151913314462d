from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy.ext.asyncio import AsyncSession

from agentry.audit.repository import AuditRepository
from agentry.audit.schemas import AuditEventList, AuditEventRead
from agentry.identity.auth import Operator, TenantAdmin
from agentry.kit.bounds import INT64_MAX
from agentry.kit.openapi import problem_responses
from agentry.platform import DbSession

router = APIRouter(tags=["audit"])
Limit = Annotated[int, Query(ge=1, le=100)]
BeforeSeq = Annotated[int | None, Query(ge=1, le=INT64_MAX)]


async def _page(
    session: AsyncSession, tenant_id: str | None, limit: int, before_seq: int | None
) -> AuditEventList:
    rows = await AuditRepository(session).list_for_tenant(
        tenant_id, limit=limit, before_seq=before_seq
    )
    items = [AuditEventRead.model_validate(r, from_attributes=True) for r in rows]
    return AuditEventList(
        items=items, next_before_seq=items[-1].seq if len(items) == limit else None
    )


@router.get("/v1/audit", response_model=AuditEventList, responses=problem_responses(401, 403))
async def tenant_audit(
    principal: TenantAdmin, session: DbSession, limit: Limit = 50, before_seq: BeforeSeq = None
) -> AuditEventList:
    """Your tenant's audit trail (events where it acted or was acted on), newest first."""
    return await _page(session, principal.tenant_id, limit, before_seq)


@router.get("/v1/admin/audit", response_model=AuditEventList, responses=problem_responses(401, 403))
async def platform_audit(
    _op: Operator,
    session: DbSession,
    tenant_id: str | None = None,
    limit: Limit = 50,
    before_seq: BeforeSeq = None,
) -> AuditEventList:
    """The whole audit trail, or one tenant's, newest first."""
    return await _page(session, tenant_id, limit, before_seq)

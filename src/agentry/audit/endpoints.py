from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy.ext.asyncio import AsyncSession

from agentry.audit.repository import AuditRepository
from agentry.audit.schemas import AuditEventList, AuditEventRead
from agentry.identity.auth import Operator, TenantAdmin
from agentry.kit.bounds import INT64_MAX
from agentry.kit.errors import ValidationFailed
from agentry.kit.openapi import problem_responses
from agentry.platform import DbSession

router = APIRouter(tags=["audit"])
Limit = Annotated[int, Query(ge=1, le=100)]
BeforeSeq = Annotated[int | None, Query(ge=1, le=INT64_MAX)]
Action = Annotated[
    str | None,
    Query(
        pattern=r"^[a-z0-9_.]{1,100}$",
        description='An action name, or a prefix ending in "." (e.g. `keys.`).',
    ),
]
From = Annotated[datetime | None, Query(alias="from", description="At or after (with a zone).")]
To = Annotated[datetime | None, Query(alias="to", description="Before (with a zone).")]


@dataclass(frozen=True, slots=True)
class Filters:
    action: str | None = None
    start: datetime | None = None
    end: datetime | None = None

    def __post_init__(self) -> None:
        for t in (self.start, self.end):
            if t is not None and t.tzinfo is None:
                raise ValidationFailed("from and to need a time zone, e.g. 2026-11-24T00:00:00Z")
        if self.start is not None and self.end is not None and self.start >= self.end:
            raise ValidationFailed("from must be before to")


async def _page(
    session: AsyncSession,
    tenant_id: str | None,
    limit: int,
    before_seq: int | None,
    filters: Filters,
) -> AuditEventList:
    rows = await AuditRepository(session).list_for_tenant(
        tenant_id,
        limit=limit,
        before_seq=before_seq,
        action=filters.action,
        start=filters.start,
        end=filters.end,
    )
    items = [AuditEventRead.model_validate(r, from_attributes=True) for r in rows]
    return AuditEventList(
        items=items, next_before_seq=items[-1].seq if len(items) == limit else None
    )


@router.get("/v1/audit", response_model=AuditEventList, responses=problem_responses(401, 403, 422))
async def tenant_audit(
    principal: TenantAdmin,
    session: DbSession,
    limit: Limit = 50,
    before_seq: BeforeSeq = None,
    action: Action = None,
    start: From = None,
    end: To = None,
) -> AuditEventList:
    """Your tenant's audit trail (events where it acted or was acted on), newest first;
    filtered by action and time, paged with `next_before_seq`."""
    filters = Filters(action, start, end)
    return await _page(session, principal.tenant_id, limit, before_seq, filters)


@router.get(
    "/v1/admin/audit", response_model=AuditEventList, responses=problem_responses(401, 403, 422)
)
async def platform_audit(
    _op: Operator,
    session: DbSession,
    tenant_id: str | None = None,
    limit: Limit = 50,
    before_seq: BeforeSeq = None,
    action: Action = None,
    start: From = None,
    end: To = None,
) -> AuditEventList:
    """The whole audit trail, or one tenant's, newest first (the same filters)."""
    return await _page(session, tenant_id, limit, before_seq, Filters(action, start, end))

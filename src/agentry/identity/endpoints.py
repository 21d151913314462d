from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from agentry.identity.auth import Authenticated
from agentry.kit.openapi import problem_responses

router = APIRouter(prefix="/v1", tags=["identity"])


class Me(BaseModel):
    tenant_id: str
    tenant_slug: str
    tier: str
    role: str
    scopes: list[str]
    subject: str


@router.get("/me", response_model=Me, responses=problem_responses(401, 403))
async def me(principal: Authenticated) -> Me:
    """Who the credential is: tenant, role and scopes."""
    return Me(
        tenant_id=principal.tenant_id,
        tenant_slug=principal.tenant_slug,
        tier=principal.tier,
        role=principal.role.value,
        scopes=sorted(s.value for s in principal.scopes),
        subject=principal.actor,
    )

from __future__ import annotations

from fastapi import APIRouter, Request

from agentry.identity.auth import Authenticated
from agentry.kit.openapi import problem_responses
from agentry.platform import DbSession
from agentry.registry import service
from agentry.registry.schemas import AgentList

router = APIRouter(prefix="/v1/agents", tags=["agents"])


@router.get(
    "", response_model=AgentList, responses=problem_responses(401), summary="Agents you may invoke"
)
async def list_agents(request: Request, principal: Authenticated, session: DbSession) -> AgentList:
    """Marketplace agents show only to their publisher and to subscribed tenants."""
    market = getattr(request.app.state, "marketplace", None)
    # Before the request's session reads: on SQLite a second connection would wait for it.
    hidden = await market.entitlements.hidden(principal.tenant_id) if market else set()
    listed = await service.list_invocable(session, principal)
    return listed.model_copy(update={"items": [a for a in listed.items if a.name not in hidden]})

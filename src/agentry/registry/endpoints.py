from __future__ import annotations

from fastapi import APIRouter

from agentry.identity.auth import Authenticated
from agentry.kit.openapi import problem_responses
from agentry.platform import DbSession
from agentry.registry import service
from agentry.registry.schemas import AgentList

router = APIRouter(prefix="/v1/agents", tags=["agents"])


@router.get(
    "", response_model=AgentList, responses=problem_responses(401), summary="Agents you may invoke"
)
async def list_agents(principal: Authenticated, session: DbSession) -> AgentList:
    return await service.list_invocable(session, principal)

"""Agent-facing gateways (invocation token) and the operator's tool grants."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.types import Receive, Send
from starlette.types import Scope as AsgiScope

from agentry.agent_auth.claims import InvalidInvocationToken, InvocationClaims
from agentry.gateway.wiring import Gateways
from agentry.identity.auth import RequireScope
from agentry.identity.principal import Principal, Scope
from agentry.kit.body import json_body, json_body_openapi
from agentry.kit.openapi import problem_responses
from agentry.llm.schemas import ChatRequest
from agentry.platform import DbSession, get_platform

agent_router = APIRouter(prefix="/agent/v1", tags=["agent gateways"])
admin_router = APIRouter(prefix="/v1/admin/tools", tags=["admin"])
Operator = Annotated[Principal, Depends(RequireScope(Scope.platform_admin))]


def gateways(request: Request) -> Gateways:
    found: Gateways = request.app.state.gateways
    return found


async def invocation_claims(request: Request) -> InvocationClaims:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidInvocationToken("Send 'Authorization: Bearer <invocation token>'.")
    return gateways(request).verifier.verify(token.strip())


AgentCaller = Annotated[InvocationClaims, Depends(invocation_claims)]


@agent_router.get(
    "/models",
    summary="OpenAI-compatible model list: the model the caller's tier is served",
    responses=problem_responses(401, 403),
)
async def list_models(request: Request, claims: AgentCaller) -> dict[str, Any]:
    return gateways(request).models.models(claims)


@agent_router.post(
    "/chat/completions",
    summary="OpenAI-compatible chat completions; the tier picks the model",
    responses=problem_responses(401, 403, 422, 429),
    openapi_extra=json_body_openapi(ChatRequest),
)
async def chat_completions(request: Request, claims: AgentCaller) -> Any:
    body = await json_body(request, ChatRequest)
    models = gateways(request).models
    if body.stream:
        frames = await models.stream(claims, body)
        return StreamingResponse(frames, media_type="text/event-stream")
    return JSONResponse(await models.complete(claims, body))


class McpMount:
    """`/agent/mcp`: the MCP gateway built at start-up (see app.py lifespan)."""

    async def __call__(self, scope: AsgiScope, receive: Receive, send: Send) -> None:
        await scope["app"].state.gateways.mcp(scope, receive, send)


class ToolRead(BaseModel):
    name: str
    description: str
    tiers: list[str]


class ToolTiers(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tiers: list[str] = Field(max_length=3, description="Tiers that may call the tool.")


@admin_router.get("", response_model=list[ToolRead], summary="Tools and the tiers that get them")
async def list_tools(request: Request, _operator: Operator) -> list[ToolRead]:
    access = gateways(request).access
    grants = access.policy.grants
    return [
        ToolRead(name=t.full_name, description=t.description, tiers=sorted(grants[t.full_name]))
        for t in access.catalog.all()
    ]


@admin_router.put(
    "/{tool}",
    response_model=ToolRead,
    responses=problem_responses(401, 403, 404, 422),
    summary="Change which tiers get a tool (no restart; audited)",
)
async def set_tool_tiers(
    request: Request,
    tool: Annotated[str, Path(max_length=200)],
    body: ToolTiers,
    operator: Operator,
    session: DbSession,
) -> ToolRead:
    access = gateways(request).access
    tiers = await access.set_tiers(
        session,
        get_platform(request).audit,
        actor=operator.actor,
        actor_tenant_id=operator.tenant_id,
        tool=tool,
        tiers=body.tiers,
    )
    spec = access.catalog.get(tool)
    assert spec is not None
    return ToolRead(name=tool, description=spec.description, tiers=sorted(tiers))

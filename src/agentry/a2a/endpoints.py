"""Agent-to-agent calls: `/agent/v1/agents/{agent}/invoke|stream` with an invocation token."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sse_starlette import EventSourceResponse

from agentry.a2a.delegation import Delegator
from agentry.a2a.protocol import A2AServer, card_dict
from agentry.gateway.endpoints import AgentCaller
from agentry.identity.auth import Invoker
from agentry.identity.principal import Principal
from agentry.invocations.context import Delegation
from agentry.invocations.endpoints import _SSE_DOC, AgentName, _sse
from agentry.invocations.schemas import InvokeRequest, InvokeResponse
from agentry.invocations.service import InvocationService, Reply, StreamReply
from agentry.kit.body import json_body, json_body_openapi
from agentry.kit.openapi import problem_responses
from agentry.platform import get_platform
from agentry.registry.routing import Route

router = APIRouter(prefix="/agent/v1/agents", tags=["agent gateways"])


def _parts(request: Request) -> tuple[InvocationService, Delegator]:
    return request.app.state.invocations, request.app.state.delegator


@router.post(
    "/{agent}/invoke",
    response_model=InvokeResponse,
    responses=problem_responses(400, 401, 403, 404, 409, 413, 422, 429, 502, 504),
    summary="An agent invokes another agent through the platform (A2A) and waits",
    openapi_extra=json_body_openapi(InvokeRequest),
)
async def delegate_invoke(agent: AgentName, request: Request, claims: AgentCaller) -> Response:
    raw = await request.body()
    body = await json_body(request, InvokeRequest)
    service, delegator = _parts(request)

    async def call(principal: Principal, d: Delegation) -> Reply:
        return await service.handle_invoke(
            principal, agent, body, body_size=len(raw), idempotency_key=None, request_id=d.trace_id
        )

    reply = await delegator.run(claims, agent, "sync", call)
    return Response(
        reply.body, status_code=reply.status, media_type="application/json", headers=reply.headers
    )


@router.post(
    "/{agent}/stream",
    responses={**_SSE_DOC, **problem_responses(400, 401, 403, 404, 409, 413, 422, 429)},
    summary="An agent invokes another agent and relays its output as server-sent events",
    openapi_extra=json_body_openapi(InvokeRequest),
    response_class=EventSourceResponse,
)
async def delegate_stream(
    agent: AgentName, request: Request, claims: AgentCaller
) -> EventSourceResponse:
    raw = await request.body()
    body = await json_body(request, InvokeRequest)
    service, delegator = _parts(request)

    async def call(principal: Principal, d: Delegation) -> StreamReply:
        return await service.handle_stream(
            principal,
            agent,
            body,
            body_size=len(raw),
            idempotency_key=None,
            last_event_id=None,
            request_id=d.trace_id,
        )

    return _sse(request, await delegator.run(claims, agent, "stream", call))


# The A2A protocol (a2a-sdk JSON-RPC) for tenants: see agentry.a2a.protocol.
protocol_router = APIRouter(prefix="/a2a", tags=["a2a"])


async def _route(request: Request, agent: str, principal: Principal) -> Route:
    route = await get_platform(request).routes.resolve(agent, "live")
    route.check_tier(principal.tier, principal.tenant_slug)
    return route


@protocol_router.get(
    "/{agent}/.well-known/agent-card.json",
    summary="The A2A agent card of an agent's live version",
    include_in_schema=False,
)
async def agent_card(agent: AgentName, request: Request, principal: Invoker) -> dict[str, Any]:
    route = await _route(request, agent, principal)
    return card_dict(route, get_platform(request).settings.effective_public_url)


@protocol_router.post("/{agent}", summary="A2A JSON-RPC endpoint", include_in_schema=False)
async def a2a_rpc(agent: AgentName, request: Request, principal: Invoker) -> Response:
    route = await _route(request, agent, principal)
    server: A2AServer = request.app.state.a2a
    request.state.a2a_modes = route.modes  # a message to an agent without `sync` becomes a job
    answer: Response = await server.dispatcher(route).handle_requests(request)
    return answer

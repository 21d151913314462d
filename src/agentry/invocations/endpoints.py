from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from agentry.identity.auth import Invoker
from agentry.invocations.schemas import InvokeRequest, InvokeResponse
from agentry.invocations.service import InvocationService
from agentry.kit.body import json_body, json_body_openapi
from agentry.kit.context import request_id_var
from agentry.kit.openapi import problem_responses

router = APIRouter(prefix="/v1/agents", tags=["invocations"])


AgentName = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_]{0,47}$", description="Agent name")]


@router.post(
    "/{agent}/invoke",
    response_model=InvokeResponse,
    responses=problem_responses(400, 401, 403, 404, 413, 422, 502, 504),
    summary="Invoke an agent and wait for its answer",
    openapi_extra=json_body_openapi(InvokeRequest),
)
async def invoke(agent: AgentName, request: Request, principal: Invoker) -> Response:
    body = await json_body(request, InvokeRequest)
    service: InvocationService = request.app.state.invocations
    result = await service.invoke_sync(principal, agent, body, request_id=request_id_var.get())
    return Response(result.render(), media_type="application/json")

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Request
from fastapi.responses import JSONResponse, Response
from sse_starlette import EventSourceResponse
from starlette.background import BackgroundTask

from agentry.identity.auth import Invoker
from agentry.invocations.idempotency import check_key
from agentry.invocations.schemas import InvokeRequest, InvokeResponse, StreamCancel
from agentry.invocations.service import InvocationService, StreamReply
from agentry.kit.body import json_body, json_body_openapi
from agentry.kit.context import request_id_var
from agentry.kit.headers import IdempotencyKey
from agentry.kit.openapi import problem_responses
from agentry.platform import DbSession, get_platform

router = APIRouter(prefix="/v1/agents", tags=["invocations"])
streams_router = APIRouter(prefix="/v1/streams", tags=["invocations"])


AgentName = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_]{0,47}$", description="Agent name")]
InvocationId = Annotated[
    str, Path(pattern=r"^inv_[0-9a-f]{30}$", description="The stream's invocation id")
]
LastEventId = Annotated[
    str | None,
    Header(alias="Last-Event-ID", description="Resume after this event id."),
]

_SSE_DOC: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Server-sent events: `start`, `chunk`*, then `end` or `error`.",
        "content": {"text/event-stream": {"schema": {"type": "string"}}},
    }
}


def _service(request: Request) -> InvocationService:
    service: InvocationService = request.app.state.invocations
    return service


def _sse(request: Request, reply: StreamReply) -> EventSourceResponse:
    settings = get_platform(request).settings
    return EventSourceResponse(
        reply.events,
        headers={**reply.headers, "Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        ping=settings.stream_heartbeat_s,
        background=BackgroundTask(reply.after) if reply.after is not None else None,
        sep="\n",
    )


@router.post(
    "/{agent}/invoke",
    response_model=InvokeResponse,
    responses=problem_responses(400, 401, 403, 404, 409, 413, 422, 429, 502, 504),
    summary="Invoke an agent and wait for its answer",
    openapi_extra=json_body_openapi(InvokeRequest),
)
async def invoke(
    agent: AgentName, request: Request, principal: Invoker, idempotency_key: IdempotencyKey = None
) -> Response:
    raw = await request.body()
    body = await json_body(request, InvokeRequest)
    reply = await _service(request).handle_invoke(
        principal,
        agent,
        body,
        body_size=len(raw),
        idempotency_key=check_key(idempotency_key) if idempotency_key is not None else None,
        request_id=request_id_var.get(),
    )
    return Response(
        reply.body, status_code=reply.status, media_type="application/json", headers=reply.headers
    )


@router.post(
    "/{agent}/stream",
    responses={**_SSE_DOC, **problem_responses(400, 401, 403, 404, 409, 413, 422, 429)},
    summary="Invoke an agent and receive its output as server-sent events",
    openapi_extra=json_body_openapi(InvokeRequest),
    response_class=EventSourceResponse,
)
async def stream(
    agent: AgentName,
    request: Request,
    principal: Invoker,
    idempotency_key: IdempotencyKey = None,
    last_event_id: LastEventId = None,
) -> EventSourceResponse:
    raw = await request.body()
    body = await json_body(request, InvokeRequest)
    reply = await _service(request).handle_stream(
        principal,
        agent,
        body,
        body_size=len(raw),
        idempotency_key=check_key(idempotency_key) if idempotency_key is not None else None,
        last_event_id=last_event_id,
        request_id=request_id_var.get(),
    )
    return _sse(request, reply)


@streams_router.get(
    "/{invocation_id}",
    responses={**_SSE_DOC, **problem_responses(400, 401, 404, 429)},
    summary="Resume a stream: its stored events after Last-Event-ID",
    response_class=EventSourceResponse,
)
async def resume_stream(
    invocation_id: InvocationId,
    request: Request,
    principal: Invoker,
    last_event_id: LastEventId = None,
) -> EventSourceResponse:
    reply = await _service(request).resume(principal, invocation_id, last_event_id)
    return _sse(request, reply)


@streams_router.post(
    "/{invocation_id}/cancel",
    response_model=StreamCancel,
    responses=problem_responses(401, 403, 404, 409),
    summary="Stop a running stream's agent call",
)
async def cancel_stream(
    invocation_id: InvocationId, request: Request, principal: Invoker, session: DbSession
) -> JSONResponse:
    """The agent's connection is closed and every reader gets an `error` event with code
    `stream_cancelled`. Idempotent; 409 `stream_ended` when it had ended otherwise. The
    runtime used until then is metered."""
    status = await _service(request).cancel_stream(principal, invocation_id)
    await get_platform(request).audit.append(
        session,
        actor=principal.actor,
        action="stream.cancel",
        actor_tenant_id=principal.tenant_id,
        target_tenant_id=principal.tenant_id,
        details={"invocation_id": invocation_id, "status": status},
    )
    body = StreamCancel(invocation_id=invocation_id, status=status)
    return JSONResponse(body.model_dump(), status_code=202 if status == "cancelling" else 200)

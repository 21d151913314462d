"""`/v1/admin/tool-targets`: operators register external MCP servers as tool targets."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from agentry.gateway.endpoints import Operator, gateways
from agentry.gateway.targets import Registration, ToolTargets
from agentry.invocations.idempotency import REPLAYED_HEADER, check_key
from agentry.kit.headers import IdempotencyKey
from agentry.kit.openapi import problem_responses
from agentry.models import ToolTarget
from agentry.platform import DbSession, get_platform

router = APIRouter(prefix="/v1/admin/tool-targets", tags=["admin"])
TargetName = Annotated[str, Path(max_length=40, description="The target's name.")]


class TargetCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(max_length=200, description="[a-z][a-z0-9-]{0,39}; tools become NAME___tool.")
    url: str = Field(max_length=2000, description="The server's MCP streamable HTTP endpoint.")
    tiers: list[str] | None = Field(
        None, max_length=3, description="Default tiers of its tools (default: premium)."
    )
    auth_header: str | None = Field(
        None,
        max_length=4000,
        description="'Header-Name: value' sent to the server; stored sealed, never returned.",
    )


class TargetTool(BaseModel):
    name: str
    description: str
    tiers: list[str]


class TargetRead(BaseModel):
    name: str
    url: str
    default_tiers: list[str]
    has_auth_header: bool
    aws_target_id: str | None
    tools: list[TargetTool]
    created_by: str
    created_at: datetime
    updated_at: datetime


class TargetList(BaseModel):
    items: list[TargetRead]


def _targets(request: Request) -> ToolTargets:
    targets = gateways(request).access.targets
    assert targets is not None
    return targets


def _read(request: Request, target: ToolTarget) -> TargetRead:
    grants = gateways(request).access.policy.grants
    return TargetRead(
        name=target.name,
        url=target.url,
        default_tiers=target.default_tiers,
        has_auth_header=target.auth_header_enc is not None,
        aws_target_id=target.aws_target_id,
        tools=[
            TargetTool(
                name=f"{target.name}___{t['name']}",
                description=t.get("description", ""),
                tiers=sorted(grants.get(f"{target.name}___{t['name']}", target.default_tiers)),
            )
            for t in target.tools
        ],
        created_by=target.created_by,
        created_at=target.created_at,
        updated_at=target.updated_at,
    )


@router.post(
    "",
    response_model=TargetRead,
    status_code=201,
    responses=problem_responses(401, 403, 409, 422, 502),
    summary="Register an external MCP server: connect, list its tools, serve them (audited)",
)
async def register_target(
    request: Request,
    response: Response,
    body: TargetCreate,
    operator: Operator,
    session: DbSession,
    idempotency_key: IdempotencyKey = None,
) -> TargetRead:
    target, replayed = await _targets(request).register(
        session,
        get_platform(request).audit,
        actor=operator.actor,
        actor_tenant_id=operator.tenant_id,
        body=Registration(body.name, body.url, body.tiers, body.auth_header),
        idempotency_key=check_key(idempotency_key) if idempotency_key is not None else None,
    )
    if replayed:
        response.status_code = 200
        response.headers[REPLAYED_HEADER] = "true"
    return _read(request, target)


@router.get("", response_model=TargetList, summary="External MCP tool targets")
async def list_targets(request: Request, _operator: Operator, session: DbSession) -> TargetList:
    return TargetList(items=[_read(request, t) for t in await _targets(request).list_all(session)])


@router.get(
    "/{target}",
    response_model=TargetRead,
    responses=problem_responses(401, 403, 404),
    summary="One external MCP tool target",
)
async def get_target(
    request: Request, target: TargetName, _operator: Operator, session: DbSession
) -> TargetRead:
    return _read(request, await _targets(request).get(session, target))


@router.post(
    "/{target}/refresh",
    response_model=TargetRead,
    responses=problem_responses(401, 403, 404, 502),
    summary="List the server's tools again and serve the new list (audited)",
)
async def refresh_target(
    request: Request, target: TargetName, operator: Operator, session: DbSession
) -> TargetRead:
    found = await _targets(request).refresh(
        session,
        get_platform(request).audit,
        actor=operator.actor,
        actor_tenant_id=operator.tenant_id,
        name=target,
    )
    return _read(request, found)


@router.delete(
    "/{target}",
    status_code=204,
    responses=problem_responses(401, 403, 404),
    summary="Remove a target: its tools disappear at once (audited)",
)
async def delete_target(
    request: Request, target: TargetName, operator: Operator, session: DbSession
) -> Response:
    await _targets(request).remove(
        session,
        get_platform(request).audit,
        actor=operator.actor,
        actor_tenant_id=operator.tenant_id,
        name=target,
    )
    return Response(status_code=204)

"""`/v1/registry/agents/...`: the agent developer API (needs the `registry:write` scope).

Uploads, health gates and alias moves manage their own short transactions (see
`registry/deploy.py`), so these routes do not take the request-wide `DbSession`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response

from agentry.identity.auth import RequireScope
from agentry.identity.principal import Principal, Scope
from agentry.kit.db.engine import session_scope
from agentry.kit.openapi import problem_responses
from agentry.platform import PlatformDep
from agentry.registry import deploy
from agentry.registry.logs import read_session_logs
from agentry.registry.repository import AgentRepository
from agentry.registry.schemas import (
    AgentCreate,
    AliasMoved,
    AliasRoute,
    AliasState,
    RegistryAgent,
    RegistryAgentList,
    SessionLogs,
    UploadResult,
    VersionList,
)

router = APIRouter(prefix="/v1/registry/agents", tags=["registry"])
Developer = Annotated[Principal, Depends(RequireScope(Scope.registry_write))]
AgentName = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_]{0,47}$", description="Agent name")]
AliasName = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_]{0,39}$", description="Alias name")]
DIGEST_HEADER = "X-Agentry-Digest"


@router.get("", response_model=RegistryAgentList, responses=problem_responses(401, 403))
async def list_agents(_: Developer, platform: PlatformDep) -> RegistryAgentList:
    async with session_scope(platform.sessionmaker) as session:
        agents = await AgentRepository(session).list_all()
        return RegistryAgentList(
            items=[await deploy.describe_agent(session, a.name) for a in agents]
        )


@router.post(
    "",
    response_model=RegistryAgent,
    status_code=201,
    responses=problem_responses(400, 401, 403, 422),
    summary="Create an agent (uploading its first version also creates it)",
)
async def create_agent(
    body: AgentCreate, principal: Developer, platform: PlatformDep, response: Response
) -> RegistryAgent:
    async with session_scope(platform.sessionmaker) as session:
        agent, created = await deploy.create_agent(session, body.name, body.description)
        if created:
            await platform.audit.append(
                session,
                actor=deploy.actor_of(principal),
                action="registry.agent.created",
                actor_tenant_id=principal.tenant_id,
                details={"agent": agent.name},
            )
        else:
            response.status_code = 200
        await session.flush()
        return await deploy.describe_agent(session, agent.name)


@router.get(
    "/{agent}/versions", response_model=VersionList, responses=problem_responses(401, 403, 404)
)
async def list_versions(agent: AgentName, _: Developer, platform: PlatformDep) -> VersionList:
    async with session_scope(platform.sessionmaker) as session:
        found = await deploy.describe_agent(session, agent)
    return VersionList(agent=agent, items=found.versions, aliases=found.aliases)


@router.post(
    "/{agent}/versions",
    response_model=UploadResult,
    status_code=201,
    responses=problem_responses(400, 401, 403, 413, 422),
    summary="Upload a version: the zip as the body, its sha256 in X-Agentry-Digest",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
async def upload_version(
    agent: AgentName,
    request: Request,
    principal: Developer,
    platform: PlatformDep,
    response: Response,
    digest: Annotated[str, Header(alias=DIGEST_HEADER)],
) -> UploadResult:
    result = await deploy.upload_version(platform, principal, agent, await request.body(), digest)
    if not result.created:
        response.status_code = 200
    return result


@router.put(
    "/{agent}/aliases/{alias}",
    response_model=AliasMoved,
    responses=problem_responses(400, 401, 403, 404, 422),
    summary="Point an alias at a version, or split new sessions with a canary",
)
async def set_alias(
    agent: AgentName,
    alias: AliasName,
    body: AliasRoute,
    principal: Developer,
    platform: PlatformDep,
) -> AliasMoved:
    state, gates = await deploy.move_alias(
        platform,
        principal,
        agent,
        alias,
        version=body.version,
        canary_version=body.canary_version,
        canary_weight=body.canary_weight,
    )
    return AliasMoved(agent=agent, alias=state, gates=gates)


@router.post(
    "/{agent}/aliases/{alias}/rollback",
    response_model=AliasState,
    responses=problem_responses(401, 403, 404, 409),
    summary="Drop a running canary, or move the alias back to its previous version",
)
async def rollback(
    agent: AgentName, alias: AliasName, principal: Developer, platform: PlatformDep
) -> AliasState:
    return await deploy.rollback_alias(platform, principal, agent, alias)


@router.get(
    "/{agent}/logs",
    response_model=SessionLogs,
    responses=problem_responses(401, 403, 404),
    summary="Tail the agent's session logs (local runtime emulator only)",
)
async def logs(
    agent: AgentName,
    _: Developer,
    platform: PlatformDep,
    session_id: Annotated[str | None, Query(alias="session", max_length=256)] = None,
    lines: Annotated[int, Query(ge=1, le=5000)] = 200,
) -> SessionLogs:
    async with session_scope(platform.sessionmaker) as session:
        found = await deploy.describe_agent(session, agent)
    return read_session_logs(platform.settings, found, session_id, lines)

"""Agents, immutable versions and aliases; each maps onto the AgentCore control plane."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from agentry.identity.principal import Principal
from agentry.kit.clock import utcnow
from agentry.kit.errors import NotFound
from agentry.kit.ids import new_id
from agentry.models import Agent, AgentAlias, AgentVersion
from agentry.registry import packaging
from agentry.registry.environments import LAYER_ENV
from agentry.registry.manifest import Manifest
from agentry.registry.repository import (
    AgentAliasRepository,
    AgentRepository,
    AgentVersionRepository,
)
from agentry.registry.schemas import AgentList, AgentRead, AliasRead
from agentry.runtime.artifacts import ArtifactStore, code_artifact
from agentry.runtime.base import RuntimeControl, RuntimeSpec


class VersionNotFound(NotFound):
    code = "version_not_found"
    title = "No such agent version"


@dataclass(frozen=True, slots=True)
class Published:
    agent: Agent
    version: AgentVersion
    created: bool


async def list_invocable(session: AsyncSession, principal: Principal) -> AgentList:
    agents = [
        a
        for a in await AgentRepository(session).list_all()
        if a.runtime_arn and (not a.allowed_tiers or principal.tier in a.allowed_tiers)
    ]
    aliases = await AgentAliasRepository(session).list_for_agents([a.id for a in agents])
    by_agent: dict[str, list[AliasRead]] = {}
    for alias in aliases:
        by_agent.setdefault(alias.agent_id, []).append(
            AliasRead(name=alias.name, version=alias.version_number)
        )
    return AgentList(
        items=[
            AgentRead(
                name=a.name,
                description=a.description,
                modes=a.modes,
                aliases=by_agent.get(a.id, []),
            )
            for a in agents
        ]
    )


async def publish_version(
    session: AsyncSession,
    *,
    control: RuntimeControl,
    store: ArtifactStore,
    manifest: Manifest,
    archive: bytes,
    created_by: str | None,
    layer: Path | None = None,
) -> Published:
    """Store the artifact and make a new immutable version, unless the digest already exists."""
    packaging.check_archive(archive)
    content_digest = packaging.digest(archive)
    agents = AgentRepository(session)
    versions = AgentVersionRepository(session)
    agent = await agents.get_by_name(manifest.name)
    if agent is None:
        agent = await agents.add(Agent(id=new_id("agt"), name=manifest.name))
    agent.description = manifest.description
    agent.allowed_tiers = list(manifest.tiers)
    agent.modes = list(manifest.modes)
    agent.allowed_tenants = list(manifest.tenants)
    existing = await versions.get_by_digest(agent.id, content_digest)
    if existing is not None:
        return Published(agent=agent, version=existing, created=False)

    stored = await store.put(
        f"agents/{manifest.name}/{content_digest.removeprefix('sha256:')}.zip", archive
    )
    artifact = code_artifact(stored, entry_point=[manifest.module_file])
    spec = RuntimeSpec(
        name=f"agentry_{manifest.name}",
        artifact=artifact,
        environment={
            "AGENTRY_ENTRYPOINT_ATTR": manifest.app_attr,
            **({LAYER_ENV: str(layer)} if layer is not None else {}),
        },
        idle_timeout_s=manifest.limits.idle_timeout_s,
        max_lifetime_s=manifest.limits.max_lifetime_s,
    )
    if agent.runtime_id is None:
        rv = await control.create_runtime(spec)
        agent.runtime_id, agent.runtime_arn = rv.runtime_id, rv.runtime_arn
    else:
        rv = await control.update_runtime(agent.runtime_id, spec)
    version = await versions.add(
        AgentVersion(
            id=new_id("ver"),
            agent_id=agent.id,
            number=await versions.next_number(agent.id),
            digest=content_digest,
            runtime_version=rv.version,
            artifact_uri=f"s3://{artifact.bucket}/{artifact.prefix}",
            manifest=manifest.model_dump(mode="json"),
            created_by=created_by,
        )
    )
    return Published(agent=agent, version=version, created=True)


async def set_alias(
    session: AsyncSession, *, control: RuntimeControl, agent: Agent, alias_name: str, number: int
) -> AgentAlias:
    version = await AgentVersionRepository(session).get_by_number(agent.id, number)
    if version is None or agent.runtime_id is None:
        raise VersionNotFound(f"Agent '{agent.name}' has no version {number}.")
    await control.set_endpoint(agent.runtime_id, alias_name, version.runtime_version)
    aliases = AgentAliasRepository(session)
    alias = await aliases.get_by_name(agent.id, alias_name)
    if alias is None:
        return await aliases.add(
            AgentAlias(id=new_id("als"), agent_id=agent.id, name=alias_name, version_number=number)
        )
    alias.version_number = number
    alias.updated_at = utcnow()
    await session.flush()
    return alias

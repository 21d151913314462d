"""Agents, immutable versions and aliases; each maps onto the AgentCore control plane."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from agentry.config import Settings
from agentry.identity.principal import Principal
from agentry.kit.clock import utcnow
from agentry.kit.errors import NotFound
from agentry.kit.ids import new_id
from agentry.models import Agent, AgentAlias, AgentVersion
from agentry.placement.regional import RegionalControl
from agentry.placement.regions import agent_regions, arn_region, version_regions
from agentry.placement.service import active_region
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
from agentry.runtime.base import RuntimeSpec


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
    control: RegionalControl,
    store: ArtifactStore,
    manifest: Manifest,
    settings: Settings,
    archive: bytes,
    created_by: str | None,
    layer: Path | None = None,
    code: bytes | None = None,
) -> Published:
    """Store the artifact and make a new immutable version, unless the digest already exists.

    `code`: the zip to store and run when it differs from the pushed one (aws: the archive
    with its dependencies bundled); the version's digest is always the pushed archive's."""
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
        f"agents/{manifest.name}/{content_digest.removeprefix('sha256:')}.zip",
        archive if code is None else code,
    )
    artifact = code_artifact(stored, entry_point=[manifest.module_file])
    spec = RuntimeSpec(
        name=f"agentry_{manifest.name}",
        artifact=artifact,
        environment={
            "AGENTRY_ENTRYPOINT_ATTR": manifest.app_attr,
            "OTEL_SERVICE_NAME": manifest.name,  # the agent's spans (ADOT, emulator/tracing.py)
            **({LAYER_ENV: str(layer)} if layer is not None else {}),
        },
        idle_timeout_s=manifest.limits.idle_timeout_s,
        max_lifetime_s=manifest.limits.max_lifetime_s,
    )
    # Every runtime region gets the code; the active one must, the others may lag (verify).
    active = await active_region(session, settings)
    known = {region: ids[0] for region, ids in agent_regions(agent).items()}
    deployed = await control.publish(spec, known, active)
    rv = deployed[active] if active in deployed else next(iter(deployed.values()))
    if agent.runtime_id is None or agent.runtime_arn is None:
        agent.runtime_id, agent.runtime_arn = rv.runtime_id, rv.runtime_arn
    elif arn_region(agent.runtime_arn) in deployed:  # the canonical pair may move (recreated)
        home = deployed[arn_region(agent.runtime_arn)]
        agent.runtime_id, agent.runtime_arn = home.runtime_id, home.runtime_arn
    regions = {r: {"id": i, "arn": a} for r, (i, a) in agent_regions(agent).items()}
    regions.update({r: {"id": v.runtime_id, "arn": v.runtime_arn} for r, v in deployed.items()})
    agent.region_runtimes = regions
    version = await versions.add(
        AgentVersion(
            id=new_id("ver"),
            agent_id=agent.id,
            number=await versions.next_number(agent.id),
            digest=content_digest,
            runtime_version=rv.version,
            region_versions={r: v.version for r, v in deployed.items()},
            artifact_uri=f"s3://{artifact.bucket}/{artifact.prefix}",
            manifest=manifest.model_dump(mode="json"),
            created_by=created_by,
        )
    )
    return Published(agent=agent, version=version, created=True)


async def point_endpoint(
    session: AsyncSession,
    control: RegionalControl,
    settings: Settings,
    agent: Agent,
    version: AgentVersion,
    endpoint: str,
    *,
    only_active: bool = False,
) -> list[str]:
    """Point `endpoint` at `version` in every runtime region that has it; the regions done."""
    runtimes = {region: ids[0] for region, ids in agent_regions(agent).items()}
    return await control.set_endpoint(
        runtimes,
        version_regions(agent, version),
        endpoint,
        await active_region(session, settings),
        only_active=only_active,
    )


async def set_alias(
    session: AsyncSession,
    *,
    control: RegionalControl,
    settings: Settings,
    agent: Agent,
    alias_name: str,
    number: int,
) -> AgentAlias:
    version = await AgentVersionRepository(session).get_by_number(agent.id, number)
    if version is None or agent.runtime_id is None:
        raise VersionNotFound(f"Agent '{agent.name}' has no version {number}.")
    await point_endpoint(session, control, settings, agent, version, alias_name)
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

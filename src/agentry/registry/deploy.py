"""Agent developer self-service: upload versions, health-gate them, move aliases, roll back.

Slow work (dependency builds, the health gate) runs outside any database transaction: on
SQLite every transaction holds the write lock, and invocation records must keep flowing.
Each function therefore opens its own short `session_scope` phases.
"""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from typing import Any

import httpx
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from agentry.config import Settings
from agentry.identity.principal import Principal
from agentry.invocations.service import _output_json
from agentry.kit.clock import utcnow
from agentry.kit.db.engine import session_scope
from agentry.kit.errors import AgentryError, BadRequest, Conflict, ValidationFailed
from agentry.kit.ids import new_id
from agentry.kit.logging import get_logger
from agentry.models import Agent, AgentAlias, AgentVersion
from agentry.placement.regional import RegionalControl, RegionalRuntime
from agentry.placement.wiring import regional_control
from agentry.platform import Platform
from agentry.registry import packaging
from agentry.registry.environments import ensure_layer
from agentry.registry.manifest import Manifest, golden_diff, parse_manifest
from agentry.registry.repository import (
    AgentAliasRepository,
    AgentRepository,
    AgentVersionRepository,
)
from agentry.registry.routing import AgentNotFound, canary_endpoint
from agentry.registry.schemas import (
    AliasState,
    GateReport,
    RegistryAgent,
    UploadResult,
    VersionRead,
)
from agentry.registry.service import VersionNotFound, point_endpoint, publish_version
from agentry.runtime.artifacts import ArtifactStore
from agentry.runtime.base import RuntimeTarget
from agentry.runtime.factory import build_artifact_store

log = get_logger("agentry.registry")
GATE_ENDPOINT = "gate"
_stores: dict[int, ArtifactStore] = {}


def _store(settings: Settings) -> ArtifactStore:
    store = _stores.get(id(settings))
    if store is None:
        store = _stores[id(settings)] = build_artifact_store(settings)
    return store


def build_control(settings: Settings) -> RegionalControl:
    return regional_control(settings)


def agentcore_sdk_requirement() -> str:
    """The bedrock-agentcore SDK at the version the platform is tested with."""
    from importlib.metadata import version

    return f"bedrock-agentcore=={version('bedrock-agentcore')}"


class DigestMismatch(BadRequest):
    code = "digest_mismatch"
    title = "The upload does not match its digest"


class AgentNameMismatch(BadRequest):
    code = "agent_name_mismatch"
    title = "The manifest names another agent"


class InvalidAgentName(BadRequest):
    code = "invalid_agent_name"
    title = "The agent name is invalid"


class InvalidRoute(BadRequest):
    code = "invalid_route"
    title = "The alias route is invalid"


class NothingToRollBack(Conflict):
    code = "nothing_to_roll_back"
    title = "The alias has no previous version"


class HealthGateFailed(ValidationFailed):
    code = "health_gate_failed"
    title = "The version failed its health gate; the alias did not move"


def actor_of(principal: Principal) -> str:
    return f"key:{principal.key_id}" if principal.key_id else f"tenant:{principal.tenant_slug}"


def version_read(v: AgentVersion) -> VersionRead:
    return VersionRead(
        number=v.number,
        digest=v.digest,
        runtime_version=v.runtime_version,
        artifact_uri=v.artifact_uri,
        created_by=v.created_by,
        created_at=v.created_at,
        requirements=list(v.manifest.get("requirements", [])),
    )


def alias_state(a: AgentAlias) -> AliasState:
    return AliasState(
        name=a.name,
        version=a.version_number,
        previous_version=a.previous_version_number,
        canary_version=a.canary_version_number,
        canary_weight=a.canary_weight if a.canary_version_number is not None else 0,
        canary_started_at=a.canary_started_at,
    )


async def _agent(session: AsyncSession, name: str) -> Agent:
    agent = await AgentRepository(session).get_by_name(name)
    if agent is None:
        raise AgentNotFound(f"No agent named '{name}'.")
    return agent


async def create_agent(session: AsyncSession, name: str, description: str) -> tuple[Agent, bool]:
    try:
        Manifest(name=name)  # same name rules as the manifest
    except ValidationError as exc:
        raise InvalidAgentName(f"name: {exc.errors()[0]['msg']}") from exc
    agents = AgentRepository(session)
    agent = await agents.get_by_name(name)
    if agent is not None:
        return agent, False
    return await agents.add(Agent(id=new_id("agt"), name=name, description=description)), True


async def describe_agent(session: AsyncSession, name: str) -> RegistryAgent:
    agent = await _agent(session, name)
    aliases = await AgentAliasRepository(session).list_for_agents([agent.id])
    versions = await AgentVersionRepository(session).list_for_agent(agent.id)
    return RegistryAgent(
        name=agent.name,
        description=agent.description,
        runtime_id=agent.runtime_id,
        runtime_arn=agent.runtime_arn,
        versions=[version_read(v) for v in versions],
        aliases=[alias_state(a) for a in aliases],
    )


async def upload_version(
    platform: Platform, principal: Principal, name: str, archive: bytes, claimed_digest: str
) -> UploadResult:
    """Verify, build the dependency layer (no transaction held), then register the version."""
    actual = packaging.digest(archive)
    if claimed_digest.strip().lower() != actual:
        raise DigestMismatch(
            f"The body's digest is {actual}; the X-Agentry-Digest header says {claimed_digest!r}."
        )
    packaging.check_archive(archive)
    text = packaging.read_member(archive, "agent.toml")
    if text is None:
        raise packaging.PackagingError("agent.toml is missing from the archive")
    manifest = parse_manifest(text.decode("utf-8", "replace"))
    if manifest.name != name:
        raise AgentNameMismatch(f"agent.toml names '{manifest.name}', the URL '{name}'.")
    if packaging.read_member(archive, manifest.module_file) is None:
        raise packaging.PackagingError(
            f"entrypoint '{manifest.entrypoint}': {manifest.module_file} is not in the archive"
        )
    code: bytes | None = None
    if platform.settings.profile == "aws":
        # AgentCore imports from the zip: the SDK and the requirements go inside it.
        layer = await ensure_layer(
            platform.settings, [agentcore_sdk_requirement(), *manifest.requirements], "agentcore"
        )
        code = packaging.bundle(archive, layer.path)
    else:
        layer = await ensure_layer(platform.settings, manifest.requirements)
    async with session_scope(platform.sessionmaker) as session:
        published = await publish_version(
            session,
            control=build_control(platform.settings),
            store=_store(platform.settings),
            manifest=manifest,
            settings=platform.settings,
            archive=archive,
            created_by=actor_of(principal),
            layer=layer.path if code is None else None,
            code=code,
        )
        if isinstance(platform.runtime, RegionalRuntime) and published.agent.runtime_arn:
            platform.runtime.state.learn(
                published.agent.runtime_arn,
                {r: str(ids["arn"]) for r, ids in published.agent.region_runtimes.items()},
            )
        if published.created:
            await platform.audit.append(
                session,
                actor=actor_of(principal),
                action="registry.version.created",
                actor_tenant_id=principal.tenant_id,
                details={"agent": name, "version": published.version.number, "digest": actual},
            )
        result = UploadResult(
            agent=name,
            created=published.created,
            version=version_read(published.version),
            layer=layer.key or None,
            layer_reused=layer.reused,
            build_s=round(layer.seconds, 3),
            aliases=[
                alias_state(a)
                for a in await AgentAliasRepository(session).list_for_agents([published.agent.id])
            ],
        )
    platform.routes.invalidate(name)
    return result


async def run_gate(platform: Platform, agent: Agent, version: AgentVersion) -> GateReport:
    """Start a session of `version` on a temporary endpoint; /ping, then its golden cases."""
    assert agent.runtime_id is not None
    assert agent.runtime_arn is not None
    manifest = Manifest.model_validate(version.manifest)
    async with session_scope(platform.sessionmaker) as session:
        await point_endpoint(
            session,
            build_control(platform.settings),
            platform.settings,
            agent,
            version,
            GATE_ENDPOINT,
            only_active=True,
        )
    target = RuntimeTarget(runtime_arn=agent.runtime_arn, qualifier=GATE_ENDPOINT)
    sid = f"gate-{version.id}-{uuid.uuid4().hex}"
    report = GateReport(version=version.number)
    started = time.perf_counter()
    try:
        if platform.settings.profile == "local":
            # The emulator starts the session and waits for a healthy /ping. AgentCore has no
            # ping-only call: there the first golden case proves the start.
            await _ping_local(platform, target, sid)
        report.ping_ms = round((time.perf_counter() - started) * 1000)
        for index, case in enumerate(manifest.golden):
            label = case.name or f"golden[{index}]"
            try:
                result = await platform.runtime.invoke(
                    target,
                    sid,
                    json.dumps(case.input).encode(),
                    request_id=new_id("req"),
                    timeout=manifest.limits.sync_timeout_s,
                )
            except AgentryError as exc:
                raise HealthGateFailed(
                    f"golden case '{label}' failed: the agent answered an error: {exc}",
                    extra={"step": "golden", "case": label},
                ) from exc
            output = json.loads(_output_json(result.content_type, result.body))
            diff = golden_diff(case, output)
            if diff is not None:
                raise HealthGateFailed(
                    f"golden case '{label}' failed:\n{diff}",
                    extra={"step": "golden", "case": label, "diff": diff},
                )
            report.golden_passed += 1
        report.golden_ms = round((time.perf_counter() - started) * 1000) - report.ping_ms
    finally:
        with contextlib.suppress(AgentryError):
            await platform.runtime.stop_session(target, sid)
    return report


async def _ping_local(platform: Platform, target: RuntimeTarget, sid: str) -> None:
    timeout = platform.settings.registry_gate_ping_timeout_s
    base = platform.settings.runtime_url
    if isinstance(platform.runtime, RegionalRuntime):
        region, target = platform.runtime.locate(target)
        base = platform.runtime.urls[region]
    try:
        async with httpx.AsyncClient(timeout=timeout + 5) as client:
            response = await client.post(
                f"{base}/_local/sessions",
                json={
                    "runtimeArn": target.runtime_arn,
                    "qualifier": target.qualifier,
                    "sessionId": sid,
                },
            )
    except httpx.HTTPError as exc:
        raise HealthGateFailed(
            f"the new version did not answer /ping within {timeout:g}s: {exc}",
            extra={"step": "ping"},
        ) from exc
    if response.status_code != 200:
        try:
            message = str(response.json().get("message", response.text))
        except ValueError:
            message = response.text
        raise HealthGateFailed(
            f"the new version did not start and answer /ping:\n{message}", extra={"step": "ping"}
        )


async def move_alias(
    platform: Platform,
    principal: Principal,
    name: str,
    alias_name: str,
    *,
    version: int,
    canary_version: int | None = None,
    canary_weight: int = 0,
    action: str = "registry.alias.set",
) -> tuple[AliasState, list[GateReport]]:
    """Point an alias at one version, or split new sessions between two (canary).

    Every version the alias does not already serve passes the health gate first; if one
    fails, nothing changes.
    """
    if canary_version is not None:
        if canary_version == version:
            raise InvalidRoute("The canary version must differ from the stable version.")
        if not 1 <= canary_weight <= 99:
            raise InvalidRoute("canary_weight must be between 1 and 99 (percent).")
    async with session_scope(platform.sessionmaker) as session:
        agent = await _agent(session, name)
        versions = AgentVersionRepository(session)
        wanted: dict[int, AgentVersion] = {}
        for number in {version, *([canary_version] if canary_version is not None else [])}:
            found = await versions.get_by_number(agent.id, number)
            if found is None or agent.runtime_id is None:
                raise VersionNotFound(f"Agent '{name}' has no version {number}.")
            wanted[number] = found
        current = await AgentAliasRepository(session).get_by_name(agent.id, alias_name)
    serving = set()
    if current is not None:
        serving = {current.version_number, current.canary_version_number}
    reports = [
        await run_gate(platform, agent, v) for n, v in sorted(wanted.items()) if n not in serving
    ]
    async with session_scope(platform.sessionmaker) as session:
        state = await _write_alias(
            platform,
            session,
            principal=principal,
            agent=await _agent(session, name),
            alias_name=alias_name,
            versions=wanted,
            version=version,
            canary_version=canary_version,
            canary_weight=canary_weight,
            action=action,
        )
    platform.routes.invalidate(name)
    return state, reports


async def _write_alias(
    platform: Platform,
    session: AsyncSession,
    *,
    principal: Principal | None,
    agent: Agent,
    alias_name: str,
    versions: dict[int, AgentVersion],
    version: int,
    canary_version: int | None,
    canary_weight: int,
    action: str,
    details: dict[str, Any] | None = None,
) -> AliasState:
    assert agent.runtime_id is not None
    control = build_control(platform.settings)
    settings = platform.settings
    await point_endpoint(session, control, settings, agent, versions[version], alias_name)
    if canary_version is not None:
        await point_endpoint(
            session, control, settings, agent, versions[canary_version], canary_endpoint(alias_name)
        )
    aliases = AgentAliasRepository(session)
    alias = await aliases.get_by_name(agent.id, alias_name)
    before: dict[str, Any] = {"version": None}
    if alias is None:
        alias = await aliases.add(
            AgentAlias(id=new_id("als"), agent_id=agent.id, name=alias_name, version_number=version)
        )
    else:
        before = {"version": alias.version_number}
        if alias.canary_version_number is not None:
            before.update(canary=alias.canary_version_number, weight=alias.canary_weight)
        if alias.version_number != version:
            alias.previous_version_number = alias.version_number
    alias.version_number = version
    alias.canary_version_number = canary_version
    alias.canary_weight = canary_weight if canary_version is not None else 0
    alias.canary_started_at = utcnow() if canary_version is not None else None
    alias.updated_at = utcnow()
    after: dict[str, Any] = {"version": version}
    if canary_version is not None:
        after.update(canary=canary_version, weight=canary_weight)
    await session.flush()
    await platform.audit.append(
        session,
        actor=actor_of(principal) if principal else "system:canary-monitor",
        action=action,
        actor_tenant_id=principal.tenant_id if principal else None,
        details={"agent": agent.name, "alias": alias_name, "from": before, "to": after}
        | (details or {}),
    )
    log.info("registry.alias_moved", agent=agent.name, alias=alias_name, action=action, to=after)
    return alias_state(alias)


async def rollback_alias(
    platform: Platform, principal: Principal, name: str, alias_name: str
) -> AliasState:
    """Undo the last move: drop a running canary, else go back to the previous version.

    No health gate: the previous version served this alias before, and rollback is the
    emergency path.
    """
    async with session_scope(platform.sessionmaker) as session:
        agent = await _agent(session, name)
        alias = await AgentAliasRepository(session).get_by_name(agent.id, alias_name)
        if alias is None:
            raise NothingToRollBack(f"Agent '{name}' has no alias '{alias_name}'.")
        target = (
            alias.version_number
            if alias.canary_version_number is not None
            else alias.previous_version_number
        )
        if target is None:
            raise NothingToRollBack(f"Alias '{alias_name}' has no previous version.")
        found = await AgentVersionRepository(session).get_by_number(agent.id, target)
        if found is None:
            raise NothingToRollBack(f"Version {target} no longer exists.")
        state = await _write_alias(
            platform,
            session,
            principal=principal,
            agent=agent,
            alias_name=alias_name,
            versions={target: found},
            version=target,
            canary_version=None,
            canary_weight=0,
            action="registry.alias.rollback",
        )
    platform.routes.invalidate(name)
    return state


async def finish_canary(
    platform: Platform,
    session: AsyncSession,
    agent: Agent,
    alias: AgentAlias,
    *,
    promote: bool,
    reason: dict[str, Any],
) -> AliasState:
    """The canary monitor's decision: promote the canary to 100%, or drop it."""
    assert alias.canary_version_number is not None
    versions = AgentVersionRepository(session)
    target = alias.canary_version_number if promote else alias.version_number
    found = await versions.get_by_number(agent.id, target)
    if found is None:
        raise VersionNotFound(f"Agent '{agent.name}' has no version {target}.")
    return await _write_alias(
        platform,
        session,
        principal=None,
        agent=agent,
        alias_name=alias.name,
        versions={target: found},
        version=target,
        canary_version=None,
        canary_weight=0,
        action="registry.canary.promoted" if promote else "registry.canary.rolled_back",
        details={"reason": reason},
    )

"""RUNBOOK-001: the failover lock, the region switch and its verification. Every change audited.

Services never commit; the endpoint's session does.
"""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from agentry.audit.service import AuditLog
from agentry.config import Settings
from agentry.kit.clock import utcnow
from agentry.kit.errors import AgentryError, Conflict, ValidationFailed
from agentry.kit.repository.base import insert_unless_exists
from agentry.models import RuntimePlacement
from agentry.models.runtime_placement import PLACEMENT_ID
from agentry.placement.regional import RegionalControl
from agentry.placement.regions import agent_regions, version_regions
from agentry.placement.repository import PlacementRepository
from agentry.placement.schemas import FailoverLock, PlacementRead, RegionCheck
from agentry.registry.repository import (
    AgentAliasRepository,
    AgentRepository,
    AgentVersionRepository,
)
from agentry.registry.routing import canary_endpoint


class FailoverLocked(Conflict):
    code = "failover_locked"
    title = "Another operator holds the failover lock"


class FailoverNotLocked(Conflict):
    code = "failover_not_locked"
    title = "Nobody holds the failover lock"


class FailoverLockRequired(Conflict):
    code = "failover_lock_required"
    title = "Take the failover lock first (make ops-failover-lock)"


class UnknownRegion(ValidationFailed):
    code = "unknown_runtime_region"
    title = "The runtime region is not configured"


class RegionNotReady(Conflict):
    code = "region_not_ready"
    title = "Some live versions are not deployed in the region"


async def active_region(session: AsyncSession, settings: Settings) -> str:
    row = await PlacementRepository(session).current()
    return row.active_region if row is not None else settings.home_region


async def _row(session: AsyncSession, settings: Settings) -> RuntimePlacement:
    repo = PlacementRepository(session)
    await insert_unless_exists(
        session,
        RuntimePlacement,
        {
            "id": PLACEMENT_ID,
            "active_region": settings.home_region,
            "generation": 0,
            "changed_at": utcnow(),
        },
        key="id",
    )
    row = await repo.current_for_update()
    assert row is not None
    return row


def read(
    row: RuntimePlacement | None, settings: Settings, *, changed: bool = False
) -> PlacementRead:
    lock = None
    if row is not None and row.lock_holder and row.lock_taken_at is not None:
        lock = FailoverLock(
            holder=row.lock_holder, reason=row.lock_reason or "", taken_at=row.lock_taken_at
        )
    return PlacementRead(
        active_region=row.active_region if row else settings.home_region,
        previous_region=row.previous_region if row else None,
        generation=row.generation if row else 0,
        changed_by=row.changed_by if row else None,
        changed_at=row.changed_at if row else None,
        regions=list(settings.effective_runtime_regions),
        lock=lock,
        poll_s=settings.runtime_region_poll_s,
        changed=changed,
    )


async def status(session: AsyncSession, settings: Settings) -> PlacementRead:
    return read(await PlacementRepository(session).current(), settings)


async def take_lock(
    session: AsyncSession,
    audit: AuditLog,
    settings: Settings,
    *,
    actor: str,
    actor_tenant_id: str | None,
    reason: str,
) -> PlacementRead:
    row = await _row(session, settings)
    if row.lock_holder and row.lock_holder != actor:
        raise FailoverLocked(
            f"{row.lock_holder} holds the failover lock since "
            f"{row.lock_taken_at:%Y-%m-%dT%H:%M:%SZ} ({row.lock_reason}).",
            extra={"holder": row.lock_holder},
        )
    if row.lock_holder != actor:
        row.lock_holder, row.lock_reason, row.lock_taken_at = actor, reason, utcnow()
        await session.flush()
        await audit.append(
            session,
            actor=actor,
            action="runtime.failover.lock_taken",
            actor_tenant_id=actor_tenant_id,
            details={"reason": reason, "active_region": row.active_region},
        )
    return read(row, settings)


async def release_lock(
    session: AsyncSession,
    audit: AuditLog,
    settings: Settings,
    *,
    actor: str,
    actor_tenant_id: str | None,
    force: bool,
) -> PlacementRead:
    row = await _row(session, settings)
    if not row.lock_holder:
        raise FailoverNotLocked("The failover lock is not held.")
    if row.lock_holder != actor and not force:
        raise FailoverLocked(
            f"{row.lock_holder} holds the failover lock; only they release it (or pass --force).",
            extra={"holder": row.lock_holder},
        )
    holder, row.lock_holder, row.lock_reason, row.lock_taken_at = row.lock_holder, None, None, None
    await session.flush()
    await audit.append(
        session,
        actor=actor,
        action="runtime.failover.lock_released",
        actor_tenant_id=actor_tenant_id,
        details={"holder": holder, "forced": holder != actor, "active_region": row.active_region},
    )
    return read(row, settings)


async def missing_in(session: AsyncSession, region: str) -> list[str]:
    """Live versions (every alias, canaries too) that have no runtime version in `region`."""
    missing: list[str] = []
    agents = [a for a in await AgentRepository(session).list_all() if a.runtime_arn]
    aliases = await AgentAliasRepository(session).list_for_agents([a.id for a in agents])
    versions = AgentVersionRepository(session)
    by_id = {a.id: a for a in agents}
    for alias in aliases:
        agent = by_id[alias.agent_id]
        if region not in agent_regions(agent):
            missing.append(f"{agent.name} (no runtime)")
            continue
        for number in (alias.version_number, alias.canary_version_number):
            if number is None:
                continue
            version = await versions.get_by_number(agent.id, number)
            if version is None or region not in version_regions(agent, version):
                missing.append(f"{agent.name}:{alias.name} v{number}")
    return sorted(set(missing))


async def switch_region(
    session: AsyncSession,
    audit: AuditLog,
    settings: Settings,
    *,
    actor: str,
    actor_tenant_id: str | None,
    region: str,
    force: bool,
) -> PlacementRead:
    regions = settings.effective_runtime_regions
    if region not in regions:
        raise UnknownRegion(
            f"'{region}' is not a runtime region here; configured: {', '.join(regions)}."
        )
    row = await _row(session, settings)
    if row.lock_holder != actor:
        held = f" ({row.lock_holder} holds it)" if row.lock_holder else ""
        raise FailoverLockRequired(f"Switching the runtime region needs the failover lock{held}.")
    if row.active_region == region:
        return read(row, settings)
    missing = await missing_in(session, region)
    if missing and not force:
        raise RegionNotReady(
            f"Not deployed in {region}: {', '.join(missing)}. Push them again, or pass --force.",
            extra={"missing": missing},
        )
    previous = row.active_region
    row.previous_region, row.active_region = previous, region
    row.generation += 1
    row.changed_by, row.changed_at = actor, utcnow()
    await session.flush()
    await audit.append(
        session,
        actor=actor,
        action="runtime.region.switched",
        actor_tenant_id=actor_tenant_id,
        details={
            "from": previous,
            "to": region,
            "generation": row.generation,
            "reason": row.lock_reason,
            "forced_missing": missing,
        },
    )
    return read(row, settings, changed=True)


async def check_region(
    session: AsyncSession, settings: Settings, control: RegionalControl, region: str
) -> RegionCheck:
    """Is `region` ready to serve: every live version there, its endpoints right, it answers."""
    missing = await missing_in(session, region)
    wrong: list[str] = []
    agents = [a for a in await AgentRepository(session).list_all() if a.runtime_arn]
    aliases = await AgentAliasRepository(session).list_for_agents([a.id for a in agents])
    versions = AgentVersionRepository(session)
    by_id = {a.id: a for a in agents}
    for alias in aliases:
        agent = by_id[alias.agent_id]
        runtime = agent_regions(agent).get(region)
        if runtime is None:
            continue
        for name, number in (
            (alias.name, alias.version_number),
            (canary_endpoint(alias.name), alias.canary_version_number),
        ):
            version = await versions.get_by_number(agent.id, number) if number else None
            want = version_regions(agent, version).get(region) if version else None
            if want is None:
                continue
            try:
                have = await control.endpoint_version(region, runtime[0], name)
            except AgentryError as exc:
                wrong.append(f"{agent.name}:{name} ({exc.code})")
                continue
            if have != want:
                wrong.append(f"{agent.name}:{name} at {have}, want {want}")
    data_plane = "not_checked"
    if settings.profile == "local":
        url = settings.effective_runtime_regions[region].runtime_url
        try:
            async with httpx.AsyncClient(timeout=3.0) as client:
                ok = (await client.get(f"{url}/ping")).status_code == 200
        except httpx.HTTPError:
            ok = False
        data_plane = "ok" if ok else "unreachable"
    return RegionCheck(
        region=region,
        ok=not missing and not wrong and data_plane != "unreachable",
        data_plane=data_plane,
        missing=missing,
        endpoints=wrong,
    )

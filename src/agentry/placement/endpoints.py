"""Operator runtime placement (`/v1/admin/runtime`): RUNBOOK-001's lock, switch and verify."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Query

from agentry.identity.auth import Operator
from agentry.kit.openapi import problem_responses
from agentry.placement import service
from agentry.placement.regional import RegionalRuntime
from agentry.placement.repository import PlacementRepository
from agentry.placement.schemas import LockTake, PlacementRead, RegionSwitch, Verification
from agentry.placement.wiring import regional_control
from agentry.platform import DbSession, PlatformDep

router = APIRouter(prefix="/v1/admin/runtime", tags=["admin"])
_ERR = problem_responses(401, 403, 409, 422)


@router.get("/placement", response_model=PlacementRead, responses=_ERR)
async def placement(_op: Operator, session: DbSession, platform: PlatformDep) -> PlacementRead:
    """The active runtime region, the regions configured, and who holds the failover lock."""
    return await service.status(session, platform.settings)


@router.post("/failover-lock", response_model=PlacementRead, responses=_ERR)
async def take_lock(
    body: LockTake, principal: Operator, session: DbSession, platform: PlatformDep
) -> PlacementRead:
    """Take the failover lock (one operator at a time switches regions). Idempotent for the
    holder."""
    return await service.take_lock(
        session,
        platform.audit,
        platform.settings,
        actor=principal.actor,
        actor_tenant_id=principal.tenant_id,
        reason=body.reason,
    )


@router.delete("/failover-lock", response_model=PlacementRead, responses=_ERR)
async def release_lock(
    principal: Operator,
    session: DbSession,
    platform: PlatformDep,
    force: bool = Query(False, description="Release another operator's lock."),
) -> PlacementRead:
    return await service.release_lock(
        session,
        platform.audit,
        platform.settings,
        actor=principal.actor,
        actor_tenant_id=principal.tenant_id,
        force=force,
    )


@router.put("/region", response_model=PlacementRead, responses=_ERR)
async def switch_region(
    body: RegionSwitch, principal: Operator, session: DbSession, platform: PlatformDep
) -> PlacementRead:
    """Make `region` the active runtime region; every replica follows within `poll_s`."""
    return await service.switch_region(
        session,
        platform.audit,
        platform.settings,
        actor=principal.actor,
        actor_tenant_id=principal.tenant_id,
        region=body.region,
        force=body.force,
    )


@router.get("/verify", response_model=Verification, responses=_ERR)
async def verify(
    _op: Operator,
    session: DbSession,
    platform: PlatformDep,
    region: str | None = Query(None, max_length=40, description="Default: the active region."),
) -> Verification:
    """Is the active (or given) region serving: versions deployed, endpoints right, reachable;
    and has every process picked the placement up."""
    settings = platform.settings
    row = service.read(await PlacementRepository(session).current(), settings)
    target = region or row.active_region
    if target not in settings.effective_runtime_regions:
        raise service.UnknownRegion(f"'{target}' is not a runtime region here.")
    check = await service.check_region(session, settings, regional_control(settings), target)
    here = (
        platform.runtime.state.active
        if isinstance(platform.runtime, RegionalRuntime)
        else settings.home_region
    )
    everywhere = (
        row.changed_at + timedelta(seconds=settings.runtime_region_poll_s + 1)
        if row.changed_at
        else None
    )
    applied = here == row.active_region
    return Verification(
        ok=check.ok and (applied or target != row.active_region),
        placement=row,
        applied_here=applied,
        applied_everywhere_by=everywhere,
        check=check,
    )

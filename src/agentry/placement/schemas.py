from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class LockTake(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=500, description="Why (incident id, ...).")


class RegionSwitch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    region: str = Field(min_length=1, max_length=40, description="A configured runtime region.")
    force: bool = Field(
        False, description="Switch even if some live versions are missing in the region."
    )


class FailoverLock(BaseModel):
    holder: str
    reason: str
    taken_at: datetime


class PlacementRead(BaseModel):
    active_region: str
    previous_region: str | None
    generation: int
    changed_by: str | None
    changed_at: datetime | None
    regions: list[str]
    lock: FailoverLock | None
    poll_s: float = Field(description="Every replica applies a switch within this.")
    changed: bool = Field(False, description="This call switched the region.")


class RegionCheck(BaseModel):
    region: str
    ok: bool
    data_plane: str = Field(description="ok, unreachable, or not_checked (AWS has no ping).")
    missing: list[str] = Field(description="Live versions not deployed in the region.")
    endpoints: list[str] = Field(description="Endpoints that do not point where they should.")


class Verification(BaseModel):
    ok: bool
    placement: PlacementRead
    applied_here: bool = Field(description="This API process already routes to the region.")
    applied_everywhere_by: datetime | None = Field(
        description="Every replica and worker routes to the region from this time on."
    )
    check: RegionCheck

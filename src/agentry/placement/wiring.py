"""Build the regional runtime and control plane from settings; the placement poller."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agentry.config import Settings
from agentry.kit.periodic import Periodic
from agentry.placement.regional import RegionalControl, RegionalRuntime
from agentry.placement.repository import PlacementRepository
from agentry.placement.state import PlacementState
from agentry.runtime.agentcore import AgentCoreControl
from agentry.runtime.base import RuntimeControl
from agentry.runtime.factory import build_runtime


def region_settings(settings: Settings, region: str) -> Settings:
    """The settings one region's clients use: its endpoints, its signing region."""
    ends = settings.effective_runtime_regions[region]
    return settings.model_copy(
        update={
            "aws_region": region,
            "runtime_url": ends.runtime_url,
            "runtime_control_url": ends.control_url,
        }
    )


def build_regional_runtime(settings: Settings) -> RegionalRuntime:
    regions = settings.effective_runtime_regions
    return RegionalRuntime(
        {r: build_runtime(region_settings(settings, r)) for r in regions},
        {r: e.runtime_url for r, e in regions.items()},
        PlacementState(settings.home_region),
    )


_controls: dict[int, RegionalControl] = {}


def regional_control(settings: Settings) -> RegionalControl:
    """One control-plane client set per settings object (boto3 clients are costly)."""
    control = _controls.get(id(settings))
    if control is None:
        control = _controls[id(settings)] = build_regional_control(settings)
    return control


def build_regional_control(settings: Settings) -> RegionalControl:
    controls: dict[str, RuntimeControl] = {
        r: AgentCoreControl(region_settings(settings, r))
        for r in settings.effective_runtime_regions
    }
    return RegionalControl(controls)


class PlacementWatcher:
    """Re-reads the placement row and the agents' region maps every `interval_s`."""

    def __init__(
        self,
        maker: async_sessionmaker[AsyncSession],
        state: PlacementState,
        home_region: str,
        interval_s: float,
    ) -> None:
        self._maker = maker
        self.state = state
        self._home = home_region
        self._periodic = Periodic("placement", interval_s, self.refresh)

    async def refresh(self) -> None:
        async with self._maker() as session:
            repo = PlacementRepository(session)
            row = await repo.current()
            maps = await repo.region_maps()
        self.state.set_arns(
            {arn: {r: str(ids["arn"]) for r, ids in regions.items()} for arn, regions in maps}
        )
        if row is None:
            await self.state.apply(self._home, 0)
        else:
            await self.state.apply(row.active_region, row.generation)

    def start(self) -> None:
        self._periodic.start()

    async def stop(self) -> None:
        await self._periodic.stop()


async def start_placement(
    maker: async_sessionmaker[AsyncSession], runtime: RegionalRuntime, settings: Settings
) -> PlacementWatcher:
    watcher = PlacementWatcher(
        maker, runtime.state, settings.home_region, settings.runtime_region_poll_s
    )
    await watcher.refresh()
    watcher.start()
    return watcher

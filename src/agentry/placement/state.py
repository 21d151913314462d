"""What one process believes about placement: the active region and every agent's ARN there.

Filled by the watcher (every `runtime_region_poll_s`) and read on every runtime call, so the
hot path never touches the database for it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from agentry.kit.logging import get_logger
from agentry.placement.regions import arn_region
from agentry.runtime.base import RuntimeNotFound

log = get_logger("agentry.placement")
SwitchListener = Callable[[str, str], Awaitable[None]]


class PlacementState:
    def __init__(self, home_region: str) -> None:
        self.active = home_region
        self.generation = 0
        # canonical ARN -> {region: that region's ARN}
        self._arns: dict[str, dict[str, str]] = {}
        self.listeners: list[SwitchListener] = []

    def arn_for(self, canonical_arn: str, region: str | None = None) -> str:
        """The ARN of the agent behind `canonical_arn` in `region` (default: the active one)."""
        region = region or self.active
        arn = self._arns.get(canonical_arn, {}).get(region)
        if arn is not None:
            return arn
        if arn_region(canonical_arn) in (region, ""):
            return canonical_arn
        raise RuntimeNotFound(f"The agent is not deployed in runtime region {region}.")

    def set_arns(self, arns: Mapping[str, Mapping[str, str]]) -> None:
        self._arns = {canonical: dict(regions) for canonical, regions in arns.items()}

    def learn(self, canonical_arn: str, regions: Mapping[str, str]) -> None:
        """A push in this process: use its new runtimes before the next poll."""
        self._arns[canonical_arn] = dict(regions)

    async def apply(self, active: str, generation: int) -> bool:
        """Take the placement row's values; on a switch, tell the listeners. True if switched."""
        if generation == self.generation and active == self.active:
            return False
        previous, self.active, self.generation = self.active, active, generation
        if previous == active:
            return False
        log.warning("placement.region_switched", previous=previous, active=active, gen=generation)
        for listener in self.listeners:
            try:
                await listener(previous, active)
            except Exception:
                log.exception("placement.listener_failed")
        return True

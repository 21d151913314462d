"""One runtime interface over several AgentCore regions.

`RegionalRuntime` sends each call to the active region, with the agent's ARN there (routes
and jobs carry the canonical ARN). `RegionalControl` deploys to every region: the active
one must succeed; another that fails is logged and left out (the verify step shows the gap).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Mapping, Sequence

from agentry.kit.errors import AgentryError
from agentry.kit.logging import get_logger
from agentry.placement.state import PlacementState
from agentry.runtime.base import (
    AgentRuntime,
    InvokeResult,
    RuntimeControl,
    RuntimeNotFound,
    RuntimeSpec,
    RuntimeTarget,
    RuntimeVersion,
)

log = get_logger("agentry.placement")


class RegionalRuntime:
    """`AgentRuntime` that follows the active region of `state`."""

    def __init__(
        self, runtimes: Mapping[str, AgentRuntime], urls: Mapping[str, str], state: PlacementState
    ) -> None:
        self.runtimes = dict(runtimes)
        self.urls = dict(urls)
        self.state = state

    def locate(self, target: RuntimeTarget) -> tuple[str, RuntimeTarget]:
        """The active region and the target as that region knows it."""
        region = self.state.active
        if region not in self.runtimes:
            raise RuntimeNotFound(f"Runtime region {region} is not configured in this process.")
        return region, RuntimeTarget(self.state.arn_for(target.runtime_arn), target.qualifier)

    async def start(self) -> None:
        for runtime in self.runtimes.values():
            await runtime.start()

    async def aclose(self) -> None:
        for runtime in self.runtimes.values():
            await runtime.aclose()

    async def invoke(
        self,
        target: RuntimeTarget,
        session_id: str,
        payload: bytes,
        *,
        request_id: str,
        timeout: float,
        headers: Mapping[str, str] | None = None,
    ) -> InvokeResult:
        region, there = self.locate(target)
        return await self.runtimes[region].invoke(
            there, session_id, payload, request_id=request_id, timeout=timeout, headers=headers
        )

    async def invoke_stream(
        self,
        target: RuntimeTarget,
        session_id: str,
        payload: bytes,
        *,
        request_id: str,
        timeout: float,
        headers: Mapping[str, str] | None = None,
    ) -> AsyncIterator[bytes]:
        region, there = self.locate(target)
        stream = self.runtimes[region].invoke_stream(
            there, session_id, payload, request_id=request_id, timeout=timeout, headers=headers
        )
        async for frame in stream:
            yield frame

    async def stop_session(self, target: RuntimeTarget, session_id: str) -> None:
        region, there = self.locate(target)
        await self.runtimes[region].stop_session(there, session_id)


async def _create_or_adopt(control: RuntimeControl, spec: RuntimeSpec) -> RuntimeVersion:
    """Create the runtime; if the region already has one of that name (an earlier push that
    failed half-way), update that one instead."""
    try:
        return await control.create_runtime(spec)
    except AgentryError:
        try:
            found = await control.find_runtime(spec.name)
        except AgentryError:
            found = None
        if found is None:
            raise
        return await control.update_runtime(found, spec)


class RegionalControl:
    """The control plane of every runtime region, in failover order."""

    def __init__(self, controls: Mapping[str, RuntimeControl]) -> None:
        self.controls = dict(controls)

    @property
    def regions(self) -> list[str]:
        return list(self.controls)

    async def _each(
        self, active: str, regions: Sequence[str], call: str, work: dict[str, Awaitable[object]]
    ) -> dict[str, object]:
        names = [r for r in regions if r in work]
        results = await asyncio.gather(*(work[r] for r in names), return_exceptions=True)
        done: dict[str, object] = {}
        for region, result in zip(names, results, strict=True):
            if isinstance(result, BaseException):
                if region == active or not isinstance(result, AgentryError | OSError):
                    raise result
                log.warning(
                    "placement.replication_failed",
                    region=region,
                    call=call,
                    error=getattr(result, "code", type(result).__name__),
                )
                continue
            done[region] = result
        return done

    async def publish(
        self, spec: RuntimeSpec, known: Mapping[str, str], active: str
    ) -> dict[str, RuntimeVersion]:
        """Create (or update, where `known` has its id) the runtime in every region."""
        work: dict[str, Awaitable[object]] = {}
        for region, control in self.controls.items():
            runtime_id = known.get(region)
            work[region] = (
                control.update_runtime(runtime_id, spec)
                if runtime_id
                else _create_or_adopt(control, spec)
            )
        done = await self._each(active, self.regions, "publish", work)
        return {r: v for r, v in done.items() if isinstance(v, RuntimeVersion)}

    async def set_endpoint(
        self,
        runtimes: Mapping[str, str],
        versions: Mapping[str, str],
        name: str,
        active: str,
        *,
        only_active: bool = False,
    ) -> list[str]:
        """Point endpoint `name` at the version in each region that has both; the regions done."""
        regions = [active] if only_active else self.regions
        ready = [r for r in regions if r in self.controls and r in runtimes and r in versions]
        if active in self.controls and active not in ready:
            raise RuntimeNotFound(
                f"This version is not deployed in the active runtime region {active}."
            )
        work: dict[str, Awaitable[object]] = {
            r: self.controls[r].set_endpoint(runtimes[r], name, versions[r]) for r in ready
        }
        return list(await self._each(active, regions, "set_endpoint", work))

    async def endpoint_version(self, region: str, runtime_id: str, name: str) -> str | None:
        return await self.controls[region].get_endpoint_version(runtime_id, name)

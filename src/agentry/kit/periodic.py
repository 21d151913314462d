"""A background step run every interval in a task of its own, until stopped.

The platform's pollers (tool grants, ended invocations, canary checks, housekeeping) share
this: a failing step is logged and the next one runs on time, so one bad round never stops
the loop; `stop()` cancels and waits.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from agentry.kit.logging import get_logger

log = get_logger("agentry.kit.periodic")


class Periodic:
    def __init__(self, name: str, interval_s: float, step: Callable[[], Awaitable[object]]) -> None:
        self.name = name
        self.interval_s = interval_s
        self._step = step
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name=self.name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            try:
                await self._step()
            except Exception as exc:  # keep running with what is known
                log.warning("periodic_step_failed", task=self.name, error_type=type(exc).__name__)

from __future__ import annotations

import asyncio

from agentry.kit.periodic import Periodic


async def test_a_failing_step_does_not_stop_the_loop_and_stop_ends_it() -> None:
    calls: list[int] = []

    async def step() -> None:
        calls.append(len(calls))
        if len(calls) == 2:
            raise RuntimeError("one bad round")

    poller = Periodic("test", 0.01, step)
    poller.start()
    for _ in range(200):
        if len(calls) >= 4:
            break
        await asyncio.sleep(0.01)
    await poller.stop()
    assert len(calls) >= 4  # the round after the failure ran
    seen = len(calls)
    await asyncio.sleep(0.05)
    assert len(calls) == seen  # stopped

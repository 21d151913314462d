"""LocalRuntime: resolve once through the emulator, then call session processes directly."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import AsyncIterator

import pytest

from agentry.runtime.agentcore import AgentCoreRuntime
from agentry.runtime.base import (
    AGENT_FAILED_DETAIL,
    AgentFailed,
    AgentTimeout,
    RuntimeTarget,
    RuntimeUnavailable,
)
from agentry.runtime.local import LocalRuntime
from tests.runtime.support import EchoRuntime, EmulatorProc, pid_alive, session_id, wait_until

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
async def local(emulator: EmulatorProc) -> AsyncIterator[LocalRuntime]:
    client = LocalRuntime(emulator.settings, touch_interval_s=0.2)
    await client.start()
    yield client
    await client.aclose()


async def _call(
    local: LocalRuntime, target: RuntimeTarget, sid: str, payload: dict[str, object]
) -> dict[str, object]:
    result = await local.invoke(
        target, sid, json.dumps(payload).encode(), request_id="req-l", timeout=30
    )
    assert result.session_id == sid
    body: dict[str, object] = json.loads(result.body)
    return body


def _pid(body: dict[str, object]) -> int:
    return int(str(body["pid"]))


async def test_invoke_direct_and_cached(
    local: LocalRuntime, emulator: EmulatorProc, echo_runtime: EchoRuntime, warm_sid: str
) -> None:
    target = RuntimeTarget(echo_runtime.arn, "live")
    sid_a, sid_b = warm_sid, session_id()
    first, other = await asyncio.gather(
        _call(local, target, sid_a, {"prompt": "one"}),
        _call(local, target, sid_b, {"prompt": "two"}),
    )
    again = await _call(local, target, sid_a, {"prompt": "three"})
    assert first["echo"] == "one"
    assert first["session_id"] == sid_a
    assert _pid(first) == _pid(again)
    assert _pid(other) != _pid(first)
    assert _pid(first) not in (os.getpid(), emulator.pid)
    url = await local.resolve(target, sid_a)
    listed = {s["sessionId"]: s for s in emulator.sessions()}
    assert listed[sid_a]["url"] == url
    assert listed[sid_a]["pid"] == _pid(first)


async def test_touches_reach_the_emulator(
    local: LocalRuntime, emulator: EmulatorProc, echo_runtime: EchoRuntime, warm_sid: str
) -> None:
    target = RuntimeTarget(echo_runtime.arn, "live")
    sid = warm_sid
    await _call(local, target, sid, {})

    def activity() -> float:
        return float(next(s for s in emulator.sessions() if s["sessionId"] == sid)["lastActivity"])

    before = activity()
    await asyncio.sleep(0.05)
    await _call(local, target, sid, {})  # direct: the emulator does not see this call...
    await local.flush_touches()  # ...until the batched touch arrives
    assert activity() > before


async def test_stream(local: LocalRuntime, echo_runtime: EchoRuntime, warm_sid: str) -> None:
    target = RuntimeTarget(echo_runtime.arn, "live")
    payload = json.dumps({"prompt": "one two three", "stream": True}).encode()
    stamps: list[float] = []
    frames: list[dict[str, object]] = []
    async for frame in local.invoke_stream(
        target, warm_sid, payload, request_id="req-s", timeout=30
    ):
        stamps.append(time.monotonic())
        frames.append(json.loads(frame))
    assert [f.get("word") for f in frames[:3]] == ["one", "two", "three"]
    assert frames[-1]["done"] is True
    assert stamps[-1] - stamps[0] > 0.08


async def test_errors_crash_and_timeout(local: LocalRuntime, echo_runtime: EchoRuntime) -> None:
    target = RuntimeTarget(echo_runtime.arn)
    sid = session_id()
    before = await _call(local, target, sid, {})
    with pytest.raises(AgentFailed) as failed:
        await _call(local, target, sid, {"fail": "bad input"})
    assert failed.value.detail == AGENT_FAILED_DETAIL  # the exception text stays in agent logs

    with pytest.raises(RuntimeUnavailable):
        await _call(local, target, sid, {"crash": True})
    assert wait_until(lambda: not pid_alive(_pid(before)), 5)
    after = await _call(local, target, sid, {"prompt": "back"})
    assert _pid(after) != _pid(before)

    with pytest.raises(AgentTimeout):
        await local.invoke(target, sid, b'{"sleep": 3}', request_id="req-t", timeout=0.3)


async def test_stale_cache_re_resolves(
    local: LocalRuntime, emulator: EmulatorProc, echo_runtime: EchoRuntime
) -> None:
    target = RuntimeTarget(echo_runtime.arn)
    sid = session_id()
    before = await _call(local, target, sid, {})
    # Stopped behind LocalRuntime's back: its cached URL now refuses connections.
    other = AgentCoreRuntime(emulator.settings)
    try:
        await other.stop_session(target, sid)
    finally:
        await other.aclose()
    assert wait_until(lambda: not pid_alive(_pid(before)), 5)
    after = await _call(local, target, sid, {"prompt": "fresh"})
    assert after["echo"] == "fresh"
    assert _pid(after) != _pid(before)


async def test_stop_session_and_unknown_runtime(
    local: LocalRuntime, echo_runtime: EchoRuntime
) -> None:
    target = RuntimeTarget(echo_runtime.arn)
    sid = session_id()
    pid = _pid(await _call(local, target, sid, {}))
    await local.stop_session(target, sid)
    assert wait_until(lambda: not pid_alive(pid), 5)
    from agentry.runtime.base import RuntimeNotFound

    with pytest.raises(RuntimeNotFound):
        await _call(local, RuntimeTarget(echo_runtime.arn, "nosuch"), session_id(), {})

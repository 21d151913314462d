"""The regional runtime and control plane: calls follow the active region, pushes fan out."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping

import pytest

from agentry.kit.errors import AgentryError
from agentry.placement.regional import RegionalControl, RegionalRuntime
from agentry.placement.state import PlacementState
from agentry.runtime.base import (
    CodeArtifact,
    InvokeResult,
    RuntimeNotFound,
    RuntimeSpec,
    RuntimeTarget,
    RuntimeUnavailable,
    RuntimeVersion,
)

WEST = "arn:aws:bedrock-agentcore:eu-west-1:000000000000:runtime/agentry_echo-AAAAAAAAAA"
CENTRAL = "arn:aws:bedrock-agentcore:eu-central-1:000000000000:runtime/agentry_echo-BBBBBBBBBB"


class FakeRuntime:
    def __init__(self, name: str) -> None:
        self.name = name
        self.calls: list[str] = []

    async def start(self) -> None: ...

    async def aclose(self) -> None: ...

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
        self.calls.append(target.runtime_arn)
        return InvokeResult(session_id, "application/json", self.name.encode())

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
        self.calls.append(target.runtime_arn)
        yield self.name.encode()

    async def stop_session(self, target: RuntimeTarget, session_id: str) -> None:
        self.calls.append(f"stop {target.runtime_arn}")


async def test_calls_follow_the_active_region_with_that_regions_arn() -> None:
    state = PlacementState("eu-west-1")
    west, central = FakeRuntime("west"), FakeRuntime("central")
    runtime = RegionalRuntime({"eu-west-1": west, "eu-central-1": central}, {}, state)
    state.set_arns({WEST: {"eu-west-1": WEST, "eu-central-1": CENTRAL}})
    target = RuntimeTarget(WEST, "live")
    assert (
        await runtime.invoke(target, "s" * 33, b"{}", request_id="r", timeout=1)
    ).body == b"west"
    switched: list[tuple[str, str]] = []

    async def listener(previous: str, active: str) -> None:
        switched.append((previous, active))

    state.listeners.append(listener)
    assert await state.apply("eu-central-1", 1) is True
    assert await state.apply("eu-central-1", 1) is False  # the same row again: nothing
    answer = await runtime.invoke(target, "s" * 33, b"{}", request_id="r", timeout=1)
    assert answer.body == b"central"
    assert central.calls == [CENTRAL]
    frames = [
        f async for f in runtime.invoke_stream(target, "s" * 33, b"{}", request_id="r", timeout=1)
    ]
    assert frames == [b"central"]
    await runtime.stop_session(target, "s" * 33)
    assert central.calls[-1] == f"stop {CENTRAL}"
    assert switched == [("eu-west-1", "eu-central-1")]


async def test_an_agent_missing_in_the_active_region_is_not_found() -> None:
    state = PlacementState("eu-central-1")
    runtime = RegionalRuntime({"eu-central-1": FakeRuntime("c")}, {}, state)
    with pytest.raises(RuntimeNotFound):
        await runtime.invoke(RuntimeTarget(WEST), "s" * 33, b"{}", request_id="r", timeout=1)
    # A row from before regions (no map) lives where its ARN says.
    state2 = PlacementState("eu-west-1")
    assert state2.arn_for(WEST) == WEST


class FakeControl:
    def __init__(self, region: str, *, fail: AgentryError | None = None) -> None:
        self.region = region
        self.fail = fail
        self.calls: list[tuple[str, ...]] = []

    def _rv(self, version: str) -> RuntimeVersion:
        rid = f"agentry_echo-{self.region[:2].upper()}00000000"
        return RuntimeVersion(
            rid, f"arn:aws:bedrock-agentcore:{self.region}:0:runtime/{rid}", version
        )

    async def create_runtime(self, spec: RuntimeSpec) -> RuntimeVersion:
        if self.fail or self.fail_create:
            raise self.fail or self.fail_create
        self.calls.append(("create", spec.name))
        return self._rv("1")

    async def update_runtime(self, runtime_id: str, spec: RuntimeSpec) -> RuntimeVersion:
        if self.fail:
            raise self.fail
        self.calls.append(("update", runtime_id))
        return self._rv("2")

    async def set_endpoint(self, runtime_id: str, name: str, version: str) -> None:
        if self.fail:
            raise self.fail
        self.calls.append(("endpoint", runtime_id, name, version))

    async def get_endpoint_version(self, runtime_id: str, name: str) -> str | None:
        return None

    async def find_runtime(self, name: str) -> str | None:
        return self.existing

    existing: str | None = None
    fail_create: AgentryError | None = None


SPEC = RuntimeSpec(name="agentry_echo", artifact=CodeArtifact("b", "p.zip", ["main.py"]))


async def test_a_push_reaches_every_region_and_a_failing_standby_is_left_out() -> None:
    west = FakeControl("eu-west-1")
    central = FakeControl("eu-central-1", fail=RuntimeUnavailable("region down"))
    control = RegionalControl({"eu-west-1": west, "eu-central-1": central})
    done = await control.publish(SPEC, {"eu-west-1": "rt-w"}, "eu-west-1")
    assert list(done) == ["eu-west-1"]
    assert done["eu-west-1"].version == "2"
    assert west.calls == [("update", "rt-w")]
    regions = await control.set_endpoint(
        {"eu-west-1": "rt-w", "eu-central-1": "rt-c"},
        {"eu-west-1": "2", "eu-central-1": "5"},
        "live",
        "eu-west-1",
    )
    assert regions == ["eu-west-1"]
    assert west.calls[-1] == ("endpoint", "rt-w", "live", "2")


async def test_the_active_region_must_succeed() -> None:
    west = FakeControl("eu-west-1", fail=RuntimeUnavailable("region down"))
    central = FakeControl("eu-central-1")
    control = RegionalControl({"eu-west-1": west, "eu-central-1": central})
    with pytest.raises(RuntimeUnavailable):
        await control.publish(SPEC, {}, "eu-west-1")
    done = await control.publish(SPEC, {}, "eu-central-1")  # after the switch, pushes work
    assert list(done) == ["eu-central-1"]
    assert central.calls == [("create", "agentry_echo")] * 2
    # The standby got the runtime created before the active region failed: the next push
    # adopts it (same name) instead of failing on the name forever.
    west.fail = None
    west.existing = "rt-w-orphan"
    first = await control.publish(SPEC, {"eu-central-1": "rt-c"}, "eu-central-1")
    assert set(first) == {"eu-west-1", "eu-central-1"}
    west.fail_create = RuntimeUnavailable("ConflictException: name taken")
    west.calls.clear()
    adopted = await control.publish(SPEC, {"eu-central-1": "rt-c"}, "eu-central-1")
    assert adopted["eu-west-1"].version == "2"
    assert west.calls == [("update", "rt-w-orphan")]
    with pytest.raises(RuntimeNotFound):  # the version never reached the active region
        await control.set_endpoint(
            {"eu-west-1": "rt-w"}, {"eu-west-1": "1"}, "live", "eu-central-1"
        )

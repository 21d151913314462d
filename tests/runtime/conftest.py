"""Fixtures for the runtime tests: one real emulator process shared by the test run (tests
that need their own, with other settings, start it), the echo agent zipped into its artifacts
dir, runtimes created through the real boto3 control client."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from agentry.registry.packaging import package_dir
from tests.runtime.support import (
    ECHO_DIR,
    EchoRuntime,
    EmulatorProc,
    session_id,
    start_emulator,
)


@pytest.fixture(scope="session")
def echo_zip() -> bytes:
    return package_dir(ECHO_DIR)


@pytest.fixture(scope="session")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorProc]:
    emu = start_emulator(tmp_path_factory.mktemp("emu"))
    yield emu
    emu.stop()


@pytest.fixture(scope="session")
def echo_runtime(emulator: EmulatorProc, echo_zip: bytes) -> EchoRuntime:
    """The echo agent as runtime `echo` (version 1) with an endpoint `live` on version 1."""
    emulator.put_zip("echo/v1.zip", echo_zip)
    created = emulator.create_runtime("echo", "echo/v1.zip")
    emulator.client("bedrock-agentcore-control").create_agent_runtime_endpoint(
        agentRuntimeId=created["agentRuntimeId"], name="live", agentRuntimeVersion="1"
    )
    return EchoRuntime(created["agentRuntimeArn"], created["agentRuntimeId"], "1")


@pytest.fixture(scope="module")
def warm_sid() -> str:
    """A session id tests of one module share when they do not need a fresh process."""
    return session_id()

"""Session lifecycle: startup failures, idle reaping, busy sessions, orphan cleanup.

Uses its own emulators with small timeouts (AGENTRY_RUNTIME_IDLE_TIMEOUT_S and friends are the
emulator's defaults for runtimes created without a lifecycleConfiguration).
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from agentry.runtime.agentcore import AgentCoreRuntime
from agentry.runtime.base import RuntimeTarget, SessionStartFailed
from agentry.runtime.emulator.sessions import HOST_MODULE, SessionManager
from agentry.runtime.local import LocalRuntime
from tests.runtime.support import (
    EmulatorProc,
    pid_alive,
    session_id,
    start_emulator,
    wait_until,
)

pytestmark = pytest.mark.e2e

IDLE_S = 2
STARTUP_S = 8  # generous: on 2 busy cores an agent process takes seconds to import its SDK


def _zip(files: dict[str, str]) -> bytes:
    import io

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, text in files.items():
            zf.writestr(name, text)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def short_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorProc]:
    emu = start_emulator(
        tmp_path_factory.mktemp("lifecycle"),
        AGENTRY_RUNTIME_IDLE_TIMEOUT_S=str(IDLE_S),
        AGENTRY_RUNTIME_REAP_INTERVAL_S="0.25",
        AGENTRY_RUNTIME_STARTUP_TIMEOUT_S=str(STARTUP_S),
    )
    yield emu
    emu.stop()


@pytest.fixture(scope="module")
def echo_arn(short_emulator: EmulatorProc, echo_zip: bytes) -> str:
    short_emulator.put_zip("echo/v1.zip", echo_zip)
    return str(short_emulator.create_runtime("echo", "echo/v1.zip")["agentRuntimeArn"])


@pytest.fixture(scope="module")
async def runtime(short_emulator: EmulatorProc) -> AsyncIterator[AgentCoreRuntime]:
    client = AgentCoreRuntime(short_emulator.settings)
    yield client
    await client.aclose()


async def _pid(runtime: AgentCoreRuntime, arn: str, sid: str, payload: bytes = b"{}") -> int:
    result = await runtime.invoke(RuntimeTarget(arn), sid, payload, request_id="r", timeout=30)
    return int(json.loads(result.body)["pid"])


async def test_startup_timeout_and_failure(
    short_emulator: EmulatorProc, runtime: AgentCoreRuntime
) -> None:
    slow = _zip(
        {
            "main.py": "import time\nprint('warming up the model', flush=True)\n"
            "time.sleep(60)\nfrom bedrock_agentcore import BedrockAgentCoreApp\n"
            "app = BedrockAgentCoreApp()\n"
        }
    )
    broken = _zip({"main.py": "raise ImportError('missing dependency: fancylib')\n"})
    short_emulator.put_zip("slow/v1.zip", slow)
    short_emulator.put_zip("broken/v1.zip", broken)
    slow_arn = short_emulator.create_runtime("slow", "slow/v1.zip")["agentRuntimeArn"]
    broken_arn = short_emulator.create_runtime("broken", "broken/v1.zip")["agentRuntimeArn"]

    started = time.monotonic()
    with pytest.raises(SessionStartFailed) as slow_err:
        await _pid(runtime, slow_arn, session_id())
    assert STARTUP_S < time.monotonic() - started < STARTUP_S + 8, slow_err.value.detail
    assert slow_err.value.detail.startswith("Runtime initialization time exceeded")
    assert "warming up the model" in slow_err.value.detail

    with pytest.raises(SessionStartFailed) as broken_err:
        await _pid(runtime, broken_arn, session_id())
    assert broken_err.value.detail.startswith("Runtime initialization failed")
    assert "missing dependency: fancylib" in broken_err.value.detail
    # Nothing is left running for either.
    runtime_ids = {a.rsplit("/", 1)[1] for a in (slow_arn, broken_arn)}
    assert not [s for s in short_emulator.sessions() if s["runtimeId"] in runtime_ids]


async def test_idle_session_is_reaped_busy_one_kept(
    short_emulator: EmulatorProc, runtime: AgentCoreRuntime, echo_arn: str
) -> None:
    idle_sid, busy_sid, direct_sid = session_id(), session_id(), session_id()
    # Touches are too rare to matter here: the process's own in-flight count must keep it.
    local = LocalRuntime(short_emulator.settings, touch_interval_s=60)
    try:
        # One at a time: concurrent cold starts on 2 cores could miss the startup limit.
        idle_pid = await _pid(runtime, echo_arn, idle_sid)
        direct_pid = await _pid(runtime, echo_arn, direct_sid)
        busy_pid = await _pid(runtime, echo_arn, busy_sid, b'{"busy": 3.5}')
        busy_at = time.monotonic()
        # A long direct call through LocalRuntime: the emulator never sees it pass.
        long_call = asyncio.create_task(
            local.invoke(
                RuntimeTarget(echo_arn), direct_sid, b'{"sleep": 6}', request_id="r", timeout=30
            )
        )
        assert await asyncio.to_thread(wait_until, lambda: not pid_alive(idle_pid), IDLE_S + 3)
        await asyncio.sleep(max(0.0, busy_at + IDLE_S + 0.7 - time.monotonic()))
        # Both are past their idle timeout: one reports HealthyBusy, one has a call in flight.
        assert pid_alive(busy_pid)
        assert pid_alive(direct_pid)
        listed = {s["sessionId"] for s in short_emulator.sessions()}
        assert idle_sid not in listed
        assert {busy_sid, direct_sid} <= listed
        await long_call
        # Once the background task ends and the idle timeout passes, it goes too.
        assert await asyncio.to_thread(
            wait_until, lambda: not pid_alive(busy_pid), 3.5 + IDLE_S + 3
        )
    finally:
        await local.aclose()
    fresh = await _pid(runtime, echo_arn, idle_sid)
    assert fresh != idle_pid


def test_restart_kills_recorded_orphans(tmp_path: Path) -> None:
    runtime_dir = tmp_path / "runtime"
    runtime_dir.mkdir()
    # Stand-in for a session process whose emulator died without cleaning up.
    orphan = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)", HOST_MODULE, str(runtime_dir)],
        start_new_session=True,
    )
    bystander = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True
    )
    try:
        pids = {str(orphan.pid): {}, str(bystander.pid): {}}
        (runtime_dir / "sessions.pids.json").write_text(json.dumps(pids))
        manager = SessionManager(
            runtime_dir, startup_timeout_s=5, reap_interval_s=1, region="eu-west-1"
        )
        manager.kill_orphans()
        assert orphan.wait(5) == -signal.SIGKILL
        assert bystander.poll() is None  # not ours: left alone
        assert not (runtime_dir / "sessions.pids.json").exists()
    finally:
        for proc in (orphan, bystander):
            proc.kill()
            proc.wait()

"""`agentry dev up/down`: what `make dev` and `make dev-down` run."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from agentry.testing.stack import (
    REPO_ROOT,
    alive,
    free_port,
    session_pids,
    start_stack,
    stop_stack,
)

pytestmark = pytest.mark.e2e


@pytest.mark.timeout(300)
def test_dev_up_twice_then_down_leaves_no_process(tmp_path: Path) -> None:
    stack = start_stack(tmp_path / "home")
    try:
        first_keys = dict(stack.creds)
        with stack.client(stack.acme_key) as c:
            assert (
                c.post("/v1/agents/echo/invoke", json={"input": {"prompt": "1"}}).status_code == 200
            )
        agents = session_pids(stack)
        assert agents
        old_services = [stack.pid("api"), stack.pid("runtime")]

        again = stack.cli("dev", "up")  # re-running restarts cleanly
        assert "Agentry is up" in again.stdout
        assert not any(alive(p) for p in old_services + agents)
        assert httpx.get(f"{stack.url}/healthz").status_code == 200
        with stack.client(first_keys["AGENTRY_API_KEY"]) as c:
            r = c.post("/v1/agents/echo/invoke", json={"input": {"prompt": "2"}})
        assert r.status_code == 200  # seeded keys survive a restart
        pids = [stack.pid("api"), stack.pid("runtime"), *session_pids(stack)]
    finally:
        stop_stack(stack)
    assert not any(alive(p) for p in pids)
    assert not list((stack.home / "pids").glob("*.pid"))


# What a new user trips over, and what a killed run leaves behind ----------------------------


def _dev_env(home: Path, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTRY_")}
    env.update(AGENTRY_HOME=str(home), **{f"AGENTRY_{k.upper()}": v for k, v in settings.items()})
    return env


def _dev(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agentry.cli.main", "dev", *args],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _ours(home: Path) -> list[int]:
    """Live processes that belong to this home (by command line or environment)."""
    needle = str(home).encode()
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            blob = (proc / "cmdline").read_bytes() + (proc / "environ").read_bytes()
        except OSError:
            continue
        if needle in blob and alive(int(proc.name)):
            found.append(int(proc.name))
    return found


def _wait_none(home: Path, timeout_s: float = 30.0) -> list[int]:
    deadline = time.monotonic() + timeout_s
    while (left := _ours(home)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return left


def test_a_taken_port_is_one_line_and_starts_nothing(tmp_path: Path) -> None:
    with socket.socket() as other:  # another stack's emulator, say
        other.bind(("127.0.0.1", 0))
        other.listen()
        taken = other.getsockname()[1]
        result = _dev(_dev_env(tmp_path, runtime_port=str(taken), api_port=str(free_port())), "up")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert f"port {taken} (AGENTRY_RUNTIME_PORT)" in lines[0]
    assert "Traceback" not in result.stdout + result.stderr
    assert _ours(tmp_path) == []


def test_settings_that_disagree_are_refused_before_anything_starts(tmp_path: Path) -> None:
    port = free_port()
    env = _dev_env(tmp_path, runtime_port=str(port), runtime_url="http://127.0.0.1:8100")
    result = _dev(env, "up")
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "AGENTRY_RUNTIME_URL" in result.stderr
    assert f"AGENTRY_RUNTIME_PORT={port}" in result.stderr
    assert not (tmp_path / "pids").exists()


@pytest.mark.timeout(180)
def test_dev_up_killed_midway_stops_what_it_started(tmp_path: Path) -> None:
    env = _dev_env(tmp_path, runtime_port=str(free_port()), api_port=str(free_port()))
    up = subprocess.Popen(
        [sys.executable, "-m", "agentry.cli.main", "dev", "up"],
        env=env,
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    pid_file = tmp_path / "pids" / "runtime.pid"
    deadline = time.monotonic() + 90
    while not pid_file.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert pid_file.exists(), "dev up never started the runtime"
    runtime = int(pid_file.read_text())
    up.send_signal(signal.SIGTERM)  # what make forwards when it is killed
    assert up.wait(60) != 0
    assert not alive(runtime)
    assert _wait_none(tmp_path) == []


@pytest.mark.timeout(300)
def test_a_stack_dies_with_its_lifeline(tmp_path: Path) -> None:
    """A killed test run (SIGKILL: no teardown) leaves no API, runtime or agent process."""
    parent = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    stack = None
    try:
        stack = start_stack(tmp_path / "home", lifeline_pid=str(parent.pid))
        with stack.client(stack.acme_key) as c:
            assert c.post("/v1/agents/echo/invoke", json={"input": {}}).status_code == 200
        assert session_pids(stack)
        assert len(_ours(stack.home)) >= 4  # API, runtime, a session, standbys
        parent.kill()
        assert _wait_none(stack.home, timeout_s=40) == []
    finally:
        parent.kill()
        parent.wait()
        if stack is not None:
            stop_stack(stack)

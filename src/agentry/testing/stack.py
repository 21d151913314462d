"""A whole local platform in real processes, started the way `make dev` starts it.

`agentry dev up` with a private home and free ports: the runtime emulator, the seed, and the
API as separate OS processes; agents run as processes of the runtime.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from agentry.kit.envfile import read_env_file

REPO_ROOT = Path(__file__).resolve().parents[3]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Stack:
    home: Path
    env: dict[str, str]
    url: str
    runtime_url: str
    creds: dict[str, str] = field(default_factory=dict)
    region_urls: dict[str, str] = field(default_factory=dict)

    @property
    def acme_key(self) -> str:
        return self.creds["AGENTRY_API_KEY"]

    @property
    def developer_key(self) -> str:
        return self.creds["AGENTRY_DEVELOPER_KEY"]

    @property
    def globex_key(self) -> str:
        return self.creds["AGENTRY_API_KEY_GLOBEX"]

    @property
    def operator_key(self) -> str:
        return self.creds["AGENTRY_OPERATOR_KEY"]

    def client(self, key: str | None = None, **kwargs: Any) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60, **kwargs)

    def pid(self, service: str) -> int:
        return int((self.home / "pids" / f"{service}.pid").read_text())

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [sys.executable, "-m", "agentry.cli.main", *args],
            env=self.env,
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=180,
        )
        if check and done.returncode:
            # What the command printed is the cause; CalledProcessError alone hides it.
            raise AssertionError(
                f"`agentry {' '.join(args)}` exited {done.returncode}\n"
                f"stdout:\n{done.stdout[-3000:]}\nstderr:\n{done.stderr[-3000:]}"
            )
        return done

    def log(self, service: str) -> str:
        return (self.home / "logs" / f"{service}.log").read_text(errors="replace")


def start_stack(
    home: Path, *, database_url: str = "", second_region: str = "", **settings: str
) -> Stack:
    """`second_region`: a second local emulator stands for that runtime region (RUNBOOK-001);
    the first is eu-west-1 at `runtime_url`, the second's URL is in `stack.region_urls`."""
    api_port, runtime_port = free_port(), free_port()
    env = dict(os.environ)
    for key in [k for k in env if k.startswith("AGENTRY_")]:
        del env[key]
    env.update(
        AGENTRY_HOME=str(home),
        AGENTRY_API_PORT=str(api_port),
        AGENTRY_RUNTIME_PORT=str(runtime_port),
        AGENTRY_RUNTIME_URL=f"http://127.0.0.1:{runtime_port}",
        AGENTRY_DATABASE_URL=database_url,
        # The stack dies with this process, even when a test run is killed.
        AGENTRY_LIFELINE_PID=str(os.getpid()),
    )
    region_urls = {"eu-west-1": f"http://127.0.0.1:{runtime_port}"}
    if second_region:
        region_urls[second_region] = f"http://127.0.0.1:{free_port()}"
        env["AGENTRY_RUNTIME_REGIONS"] = json.dumps(
            {region: {"runtime_url": url} for region, url in region_urls.items()}
        )
    env.update({f"AGENTRY_{k.upper()}": v for k, v in settings.items()})
    stack = Stack(
        home=home,
        env=env,
        url=f"http://127.0.0.1:{api_port}",
        runtime_url=f"http://127.0.0.1:{runtime_port}",
        region_urls=region_urls,
    )
    result = stack.cli("dev", "up", check=False)
    if result.returncode != 0:
        raise RuntimeError(f"dev up failed:\n{result.stdout}\n{result.stderr}")
    stack.creds = read_env_file(home / "dev.env")
    return stack


@dataclass
class Replica:
    """A second API process of a stack: same database, runtime and home, its own port."""

    url: str
    process: subprocess.Popen[bytes]

    def client(self, key: str, **kwargs: Any) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60, **kwargs)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)


def start_replica(stack: Stack, timeout_s: float = 60.0) -> Replica:
    port = free_port()
    env = {**stack.env, "AGENTRY_API_PORT": str(port), "AGENTRY_WEBHOOK_ALLOW_PRIVATE": "1"}
    log = (stack.home / "logs" / f"api-{port}.log").open("ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "agentry.cli.main", "serve"],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env=env,
        cwd=REPO_ROOT,
    )
    log.close()
    replica = Replica(f"http://127.0.0.1:{port}", process)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"replica exited with {process.returncode}")
        try:
            if httpx.get(f"{replica.url}/readyz", timeout=2).status_code == 200:
                return replica
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    replica.stop()
    raise RuntimeError("replica did not become ready")


def stop_stack(stack: Stack) -> None:
    stack.cli("dev", "down", check=False)


def session_pids(stack: Stack) -> list[int]:
    sessions = httpx.get(f"{stack.runtime_url}/_local/sessions", timeout=10).json()
    items = sessions["sessions"] if isinstance(sessions, dict) else sessions
    return [int(s["pid"]) for s in items]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def wait_dead(pid: int, timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.05)
    return False

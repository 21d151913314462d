"""Helpers for the runtime tests: a real emulator process driven through real clients."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from agentry.config import Settings
from agentry.runtime.artifacts import DEFAULT_BUCKET

REPO = Path(__file__).resolve().parents[2]
ECHO_DIR = REPO / "agents" / "echo"
ROLE_ARN = "arn:aws:iam::000000000000:role/agentry-runtime"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead for our purposes.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def wait_until(check: Callable[[], bool], timeout: float, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(interval)
    return check()


def session_id() -> str:
    return f"test-{uuid.uuid4()}"


@dataclass
class EmulatorProc:
    home: Path
    port: int
    proc: subprocess.Popen[bytes]
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def settings(self) -> Settings:
        return Settings(home=self.home, runtime_url=self.url, **self._settings_overrides())

    def _settings_overrides(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in self.env.items():
            if key.startswith("AGENTRY_RUNTIME_") and key not in (
                "AGENTRY_RUNTIME_PORT",
                "AGENTRY_RUNTIME_URL",
            ):
                out[key.removeprefix("AGENTRY_").lower()] = value
        return out

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(f"{self.url}{path}", timeout=10) as resp:
            return json.load(resp)

    def sessions(self) -> list[dict[str, Any]]:
        return list(self.get("/_local/sessions")["sessions"])

    def client(self, service: str, **kwargs: Any) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name="eu-west-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
            **kwargs,
        )

    def put_zip(self, key: str, data: bytes) -> None:
        path = self.home / "artifacts" / DEFAULT_BUCKET / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    def create_runtime(
        self, name: str, key: str, *, entry: list[str] | None = None, **extra: Any
    ) -> dict[str, Any]:
        control = self.client("bedrock-agentcore-control")
        result: dict[str, Any] = control.create_agent_runtime(
            agentRuntimeName=name,
            roleArn=ROLE_ARN,
            networkConfiguration={"networkMode": "PUBLIC"},
            agentRuntimeArtifact={
                "codeConfiguration": {
                    "code": {"s3": {"bucket": DEFAULT_BUCKET, "prefix": key}},
                    "runtime": "PYTHON_3_11",
                    "entryPoint": entry or ["main.py"],
                }
            },
            **extra,
        )
        return result

    def stop(self, timeout: float = 15) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return int(self.proc.returncode)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def start_emulator(home: Path, **env_overrides: str) -> EmulatorProc:
    port = free_port()
    home.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AGENTRY_", "AWS_"))}
    overrides = {
        "AGENTRY_HOME": str(home),
        "AGENTRY_RUNTIME_PORT": str(port),
        **env_overrides,
    }
    env.update(overrides)
    env["AGENTRY_LIFELINE_PID"] = str(os.getpid())  # dies with the test run, even a killed one
    log_path = home / "emulator.log"
    with log_path.open("ab") as log_file:
        proc = subprocess.Popen(
            [sys.executable, "-m", "agentry.cli.runtime", "serve"],
            env=env,
            cwd=home,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    emulator = EmulatorProc(home=home, port=port, proc=proc, log_path=log_path, env=overrides)

    def up() -> bool:
        if proc.poll() is not None:
            raise RuntimeError(f"emulator exited:\n{emulator.log()}")
        try:
            emulator.get("/ping")
        except OSError:
            return False
        return True

    if not wait_until(up, 30, 0.05):
        emulator.stop()
        raise RuntimeError(f"emulator did not start:\n{emulator.log()}")
    return emulator


@dataclass
class EchoRuntime:
    arn: str
    runtime_id: str
    version: str

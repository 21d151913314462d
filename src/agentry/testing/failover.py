"""RUNBOOK-001 drills on a local stack: traffic, a region outage, the runbook's make targets.

Shared by tests/runbooks/test_runbook_001.py and bench/failover.py. Two emulators stand for
two runtime regions; killing one's process group (its session processes die with it) is the
outage.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

import httpx

from agentry.testing.stack import REPO_ROOT, Stack

TARGET_S = 60.0  # RUNBOOK-001: back under 1% errors within this of the switch
MAX_ERROR_RATE = 0.01


@dataclass
class Traffic:
    """Sync echo invocations in a loop on threads of their own; each call's time and outcome."""

    stack: Stack
    threads: int = 2
    calls: list[tuple[float, bool]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _workers: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        for index in range(self.threads):
            worker = threading.Thread(target=self._run, args=(index,), daemon=True)
            worker.start()
            self._workers.append(worker)

    def _run(self, index: int) -> None:
        headers = {"Authorization": f"Bearer {self.stack.acme_key}"}
        with httpx.Client(base_url=self.stack.url, headers=headers, timeout=10) as client:
            n = 0
            while not self._stop.is_set():
                n += 1
                body = {"input": {"prompt": f"t{index}-{n}"}, "session_id": f"drill-{index}"}
                try:
                    ok = client.post("/v1/agents/echo/invoke", json=body).status_code == 200
                except httpx.HTTPError:
                    ok = False
                self.calls.append((time.monotonic(), ok))
                if not ok:
                    time.sleep(0.02)  # a client backing off a little, as real ones do

    def stop(self) -> None:
        self._stop.set()
        for worker in self._workers:
            worker.join(15)

    def error_rate(self, start: float, end: float = float("inf")) -> tuple[float, int]:
        window = [ok for t, ok in list(self.calls) if start <= t < end]
        if not window:
            return 1.0, 0
        return 1 - sum(window) / len(window), len(window)

    def recovered_at(self, after: float, window_s: float = 2.0) -> float | None:
        """The first call time after `after` from which every `window_s` window and the rest
        of the run stay under 1% errors."""
        calls = sorted(c for c in list(self.calls) if c[0] >= after)
        failures = [t for t, ok in calls if not ok]
        for t, ok in calls:
            if not ok:
                continue
            rest = [c for c in calls if c[0] >= t]
            bad = sum(1 for f in failures if f >= t)
            if rest and bad / len(rest) < MAX_ERROR_RATE:
                windows_ok = all(
                    self.error_rate(w, w + window_s)[0] < MAX_ERROR_RATE
                    for w in _steps(t, calls[-1][0] - window_s, window_s)
                )
                if windows_ok:
                    return t
        return None


def _steps(start: float, stop: float, step: float) -> list[float]:
    out, t = [], start
    while t <= stop:
        out.append(t)
        t += step
    return out


def kill_region(stack: Stack, service: str = "runtime") -> None:
    """The outage: SIGKILL the emulator and its session processes (one process group)."""
    pid = stack.pid(service)
    os.killpg(pid, signal.SIGKILL)


def make(stack: Stack, target: str, *args: str) -> subprocess.CompletedProcess[str]:
    """One of the runbook's make targets, as an operator runs it (stack's home and keys)."""
    return subprocess.run(
        ["make", "-s", "--no-print-directory", target, *args],
        env=stack.env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def run_runbook(stack: Stack, region: str) -> dict[str, float]:
    """RUNBOOK-001's steps in order; monotonic time at the end of each. Raises on a failure."""
    marks: dict[str, float] = {}
    for name, target, args in (
        ("lock", "ops-failover-lock", ("REASON=drill: eu-west-1 runtime outage",)),
        ("switch", "ops-runtime-region", (f"REGION={region}",)),
        ("verify", "ops-failover-verify", ("WAIT=90",)),
        ("release", "ops-failover-release", ()),
    ):
        done = make(stack, target, *args)
        if done.returncode != 0:
            raise RuntimeError(f"make {target} failed:\n{done.stdout}\n{done.stderr}")
        marks[name] = time.monotonic()
    return marks


def restart_region(stack: Stack, region: str) -> None:
    """Bring a killed region's emulator back (same port and state directory as `dev up`)."""
    regions = list(stack.region_urls)
    url = stack.region_urls[region]
    name = "runtime" if region == regions[0] else f"runtime-{region}"
    env = {
        **stack.env,
        "AGENTRY_AWS_REGION": region,
        "AGENTRY_RUNTIME_URL": url,
        "AGENTRY_RUNTIME_PORT": url.rsplit(":", 1)[1],
    }
    if name != "runtime":
        env["AGENTRY_RUNTIME_STATE_DIR"] = str((stack.home / name).resolve())
    log = (stack.home / "logs" / f"{name}.log").open("ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "agentry.cli.main", "runtime", "serve"],
        env=env,
        cwd=REPO_ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    log.close()
    (stack.home / "pids" / f"{name}.pid").write_text(str(proc.pid))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/ping", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the {region} emulator did not come back")

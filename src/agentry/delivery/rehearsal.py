"""`make staging-rehearsal`: a blue/green deploy with its rollback, on this machine.

The blue build is a local stack (`agentry dev up` on free ports, its own home). Each build to
rehearse starts as a green API process beside it (same database and runtime, its own port:
what a new task set behind the test listener is), and the post-deploy verification runs
against green. Passed: green would take the traffic. Failed: the rollback path; green is
stopped, blue is verified to still serve, and the build counts as rolled back.

Builds: `good` is this tree as it is. `broken` is this tree with an AgentCore endpoint that
nothing answers (the misconfigured task definition a deploy can carry): every invocation
answers 5xx, and the verification's 5xx rate must catch it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentry.delivery.verify import Report, verify

BUILDS = ("good", "broken")


@dataclass
class Rehearsal:
    build: str
    outcome: str  # passed | rolled_back
    green: Report
    blue_after_rollback: Report | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "build": self.build,
            "outcome": self.outcome,
            "green": self.green.as_dict(),
            "blue_after_rollback": (
                self.blue_after_rollback.as_dict() if self.blue_after_rollback else None
            ),
        }


def build_env(build: str, blue_env: dict[str, str], port: int, dead_port: int) -> dict[str, str]:
    env = {**blue_env, "AGENTRY_API_PORT": str(port), "AGENTRY_JOBS_EMBEDDED_WORKERS": "0"}
    if build == "broken":
        env |= {
            "AGENTRY_RUNTIME_PORT": str(dead_port),
            "AGENTRY_RUNTIME_URL": f"http://127.0.0.1:{dead_port}",
        }
    elif build != "good":
        raise ValueError(f"unknown build {build!r} (one of {', '.join(BUILDS)})")
    return env


def _start_green(env: dict[str, str], home: Path, timeout_s: float) -> subprocess.Popen[bytes]:
    from agentry.testing.stack import REPO_ROOT

    log = (home / "logs" / f"green-{env['AGENTRY_API_PORT']}.log").open("ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "agentry.cli.main", "serve"],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env=env,
        cwd=REPO_ROOT,
    )
    log.close()
    url = f"http://127.0.0.1:{env['AGENTRY_API_PORT']}"
    from agentry.cli.http import HttpClient, HttpError

    probe = HttpClient(url, timeout=2)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"green exited with {process.returncode}")
        try:
            # Liveness, as a load balancer's health check: a build whose dependencies are
            # wrong may well be alive; the verification is what judges it.
            if probe.request("GET", "/healthz").status_code == 200:
                return process
        except HttpError:
            pass
        time.sleep(0.1)
    _stop(process)
    raise RuntimeError("green did not come up")


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


def rehearse(
    builds: list[str],
    *,
    max_error_rate: float = 0.01,
    max_p99_s: float = 5.0,
    rounds: int = 2,
    report: Callable[[str], None] = lambda _line: None,
) -> list[Rehearsal]:
    from agentry.testing.stack import free_port, start_stack, stop_stack

    for build in builds:
        build_env(build, {}, 0, 0)  # refuse an unknown build before starting anything
    with tempfile.TemporaryDirectory(prefix="agentry-rehearsal-") as tmp:
        home = Path(tmp)
        report("blue: starting the local stack")
        os.environ.setdefault("AGENTRY_LOG_LEVEL", "WARNING")
        blue = start_stack(home, log_level=os.environ["AGENTRY_LOG_LEVEL"])
        key = blue.creds["AGENTRY_API_KEY"]
        results: list[Rehearsal] = []
        try:
            for build in builds:
                env = build_env(build, blue.env, free_port(), free_port())
                report(f"green ({build}): starting beside blue")
                green = _start_green(env, home, 60)
                try:
                    url = f"http://127.0.0.1:{env['AGENTRY_API_PORT']}"
                    checked = verify(
                        url, key, rounds=rounds, max_error_rate=max_error_rate, max_p99_s=max_p99_s
                    )
                finally:
                    _stop(green)
                if checked.ok:
                    report(f"green ({build}): verification passed; traffic would shift to it")
                    results.append(Rehearsal(build, "passed", checked))
                    continue
                report(f"green ({build}): verification FAILED: {'; '.join(checked.reasons())}")
                report(f"green ({build}): rolled back; verifying blue still serves")
                after = verify(
                    blue.url, key, rounds=1, max_error_rate=max_error_rate, max_p99_s=max_p99_s
                )
                report(f"blue after rollback: {'ok' if after.ok else 'FAILED'}")
                results.append(Rehearsal(build, "rolled_back", checked, after))
        finally:
            stop_stack(blue)
        return results

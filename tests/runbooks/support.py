"""Running a runbook's `make` lines as an operator would, against a running platform."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
from dataclasses import dataclass, field
from typing import Any

from agentry.testing.stack import REPO_ROOT, Stack


@dataclass
class Operator:
    """Runs `make` in the repository with the operator's environment, as a person would."""

    stack: Stack
    # More environment (e.g. AGENTRY_OPERATOR_TOKEN_FILE: a login of this operator only).
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AGENTRY_", "MAKE"))}
        env.update(self.stack.env)
        env.update(
            AGENTRY_URL=self.stack.url,
            AGENTRY_OPERATOR_KEY=self.stack.operator_key,
            MAKEFLAGS="-s --no-print-directory",
        )
        env.update(self.extra)
        return env

    def make(self, line: str, *, ok: bool = True, **shell: str) -> subprocess.CompletedProcess[str]:
        """One runbook line (`make target VAR=...`), run by bash. `shell` are the page's `$VAR`s,
        set as shell variables (not exported, as in an operator's shell), so make sees only
        what the line passes."""
        assert line.startswith("make "), line
        prelude = "".join(f"{k}={shlex.quote(v)}; " for k, v in shell.items())
        done = subprocess.run(
            ["bash", "-c", prelude + line],
            cwd=REPO_ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if ok:
            assert done.returncode == 0, (line, done.stdout, done.stderr)
        return done

    def json(self, line: str, **variables: str) -> Any:
        return json.loads(self.make(f"{line} JSON=1", **variables).stdout)


def run_page(operator: Operator, steps: list[str], **variables: str) -> list[str]:
    """Run a page's make lines in order; each must succeed. Returns their outputs."""
    return [operator.make(line, **variables).stdout for line in steps]


def follow(operator: Operator, line: str, seconds: float, until: str = "") -> str:
    """A step that follows output until interrupted (`make dev-logs`): what it printed, once a
    whole line starts with `until` (when given) or after `seconds`, whichever comes first."""
    import select
    import signal
    import time

    proc = subprocess.Popen(
        ["bash", "-c", line],
        cwd=REPO_ROOT,
        env=operator.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    assert proc.stdout is not None
    fd, out = proc.stdout.fileno(), b""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0 and select.select([fd], [], [], left)[0]:
        chunk = os.read(fd, 65536)
        out += chunk
        if not chunk or (
            until and re.search(rb"(^|\n)" + re.escape(until.encode()) + rb".*\n", out)
        ):
            break
    os.killpg(proc.pid, signal.SIGTERM)
    rest, _ = proc.communicate(timeout=10)
    return (out + rest).decode(errors="replace")

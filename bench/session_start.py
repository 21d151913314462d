"""Time a cold agent session start with and without compiled bytecode.

This machine exports PYTHONDONTWRITEBYTECODE=1, so a process reads only the .pyc files an
install wrote. `make install` compiles the venv and the project; the emulator compiles each
agent version's code when it extracts it; dependency layers are installed with
`--compile-bytecode`. "Before" points PYTHONPYCACHEPREFIX at an empty directory, so every
process of that stack finds no .pyc and compiles from source, as it did before those changes.

Each sample starts a new session (a new session id, no standby processes) of the echo agent
and times the first invocation through the platform.

    .venv/bin/python bench/session_start.py --rounds 5
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from agentry.testing.stack import start_stack, stop_stack


def _samples(home: Path, rounds: int, pycache_prefix: str | None) -> list[float]:
    saved = os.environ.get("PYTHONPYCACHEPREFIX")
    if pycache_prefix is not None:
        os.environ["PYTHONPYCACHEPREFIX"] = pycache_prefix
    try:
        stack = start_stack(home, runtime_standby="0", log_json="false")
    finally:
        if saved is None:
            os.environ.pop("PYTHONPYCACHEPREFIX", None)
        else:
            os.environ["PYTHONPYCACHEPREFIX"] = saved
    try:
        times = []
        with stack.client(stack.acme_key) as client:
            for _ in range(rounds):
                body = {"input": {"prompt": "x"}, "session_id": uuid.uuid4().hex}
                started = time.perf_counter()
                answer = client.post("/v1/agents/echo/invoke", json=body)
                times.append(time.perf_counter() - started)
                answer.raise_for_status()
        return times
    finally:
        stop_stack(stack)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="agentry-bench-session-") as tmp:
        root = Path(tmp)
        (root / "empty-pycache").mkdir()
        before = _samples(root / "before", args.rounds, str(root / "empty-pycache"))
        after = _samples(root / "after", args.rounds, None)
    print(f"cold session start, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {args.rounds} rounds")
    for label, values in (("no bytecode (before)", before), ("compiled (after)", after)):
        print(
            f"{label:<22} median {statistics.median(values) * 1000:7.0f} ms   "
            f"min {min(values) * 1000:6.0f}  max {max(values) * 1000:6.0f}"
        )
    print(f"ratio after/before: {statistics.median(after) / statistics.median(before):.2f}")


if __name__ == "__main__":
    main()

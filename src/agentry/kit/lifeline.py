"""Die with a watched process: a killed test run or `make dev-fg` leaves nothing running.

A process started with AGENTRY_LIFELINE_PID=<pid> (the API, a worker, the runtime emulator)
sends itself SIGTERM when that process ends, and SIGKILLs its process group if a graceful stop
takes too long. Agent session processes die with the emulator through PR_SET_PDEATHSIG.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import threading
import time

ENV = "AGENTRY_LIFELINE_PID"
_GRACE_S = 15.0


def _wait_for_exit(pid: int) -> None:
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return
    except OSError:  # no pidfd (old kernel, or not Linux): poll
        while True:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            except PermissionError:
                pass
            time.sleep(0.5)
    try:
        select.select([fd], [], [])
    finally:
        os.close(fd)


def _watch(pid: int) -> None:
    _wait_for_exit(pid)
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(_GRACE_S)
    with contextlib.suppress(OSError):
        if os.getpgid(0) == os.getpid():  # only a group we lead: never the watcher's own group
            os.killpg(os.getpid(), signal.SIGKILL)
    os._exit(1)


def watch_from_env() -> None:
    """Start the watch when AGENTRY_LIFELINE_PID is set; a no-op otherwise."""
    raw = os.environ.get(ENV, "").strip()
    if not raw:
        return
    threading.Thread(target=_watch, args=(int(raw),), name="lifeline", daemon=True).start()

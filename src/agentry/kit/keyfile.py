"""A small secret file of one value per line, newest first (a key ring kept on disk).

Several processes (API, workers) read the same file; each re-reads it when its inode or
mtime changes, so a rotation written by one process is seen by the others at their next use
without a restart. Writes are atomic (a temporary file renamed over) and 0600 from creation.

`recheck_s` bounds how often the file is stat'ed: a ring read on every request (the API key
pepper) sees another process's rotation up to that late; this process's own writes at once.
"""

from __future__ import annotations

import os
import time
from pathlib import Path


class KeyLines:
    def __init__(self, path: Path, *, recheck_s: float = 0.0) -> None:
        self.path = path
        self._recheck_s = recheck_s
        self._checked = -1.0e9  # monotonic time of the last stat
        self._seen: tuple[int, int] | None = None
        self._lines: list[str] = []

    def exists(self) -> bool:
        return self.path.exists()

    def lines(self) -> list[str]:
        """The values, newest first; [] when the file does not exist."""
        if self._recheck_s > 0:
            now = time.monotonic()
            if now - self._checked < self._recheck_s:
                return list(self._lines)
            self._checked = now
        try:
            st = self.path.stat()
        except FileNotFoundError:
            self._seen, self._lines = None, []
            return []
        if self._seen != (st.st_ino, st.st_mtime_ns):
            text = self.path.read_text()
            self._lines = [line.strip() for line in text.splitlines() if line.strip()]
            self._seen = (st.st_ino, st.st_mtime_ns)
        return list(self._lines)

    def write(self, values: list[str]) -> None:
        if not values or any("\n" in v or not v.strip() for v in values):
            raise ValueError("a key ring holds at least one non-empty single-line value")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write("".join(v + "\n" for v in values))
        os.replace(tmp, self.path)
        self._checked = -1.0e9  # this process's own write is seen at the next read

"""One clock for the whole platform, so tests can move time.

Every wall-clock read goes through `utcnow()`. `use_clock()` swaps its source for a test's
fake clock (an 8-hour job lifecycle runs in seconds); monotonic time is never faked, so
asyncio timers, pools and HTTP timeouts keep real time.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime


def _real() -> datetime:
    return datetime.now(UTC)


_source: Callable[[], datetime] = _real


def utcnow() -> datetime:
    return _source()


def monotonic() -> float:
    return time.monotonic()


@contextmanager
def use_clock(source: Callable[[], datetime]) -> Iterator[None]:
    """Read wall-clock time from `source` until the block ends (tests only)."""
    global _source
    previous, _source = _source, source
    try:
        yield
    finally:
        _source = previous

"""Redis for the shared-limiter tests: AGENTRY_TEST_REDIS_URL, else 127.0.0.1:6379.

When none answers, those tests skip and say why, unless AGENTRY_TEST_REQUIRE_REDIS=1 (CI, which
starts a server when the machine has none), where they fail instead.
"""

from __future__ import annotations

import os
import socket
import urllib.parse

import pytest

REDIS_URL = os.environ.get("AGENTRY_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def redis_available() -> bool:
    parts = urllib.parse.urlsplit(REDIS_URL)
    try:
        socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6379), 1).close()
    except OSError:
        return False
    return True


def require_redis() -> str:
    if not redis_available():
        reason = (
            f"Redis not available at {REDIS_URL}: the Redis quota path is not tested "
            "(set AGENTRY_TEST_REDIS_URL or run a server on 127.0.0.1:6379)"
        )
        if os.environ.get("AGENTRY_TEST_REQUIRE_REDIS") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    return REDIS_URL

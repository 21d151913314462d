from __future__ import annotations

import socket

import pytest

REDIS_URL = "redis://127.0.0.1:6379/0"


def redis_available() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 6379), 1).close()
    except OSError:
        return False
    return True


def require_redis() -> str:
    if not redis_available():
        pytest.skip("Redis not available on 127.0.0.1:6379: the Redis quota path is not tested")
    return REDIS_URL

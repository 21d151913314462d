"""Runtime session ids: a client's session id never reaches the runtime as given.

It is hashed together with the tenant, so two tenants sending the same string get different
runtime sessions, and a tenant cannot address another tenant's session. Calls without a
session id share a small per-tenant pool, keyed by version so a moved alias gets fresh sessions.
"""

from __future__ import annotations

import hashlib
import random

from agentry.runtime.base import MAX_SESSION_ID_LEN, MIN_SESSION_ID_LEN


def runtime_session_id(tenant_id: str, agent_id: str, client_session_id: str) -> str:
    digest = hashlib.sha256(
        f"{tenant_id}\x00{agent_id}\x00{client_session_id}".encode()
    ).hexdigest()
    sid = f"{tenant_id}-{digest[:40]}"
    assert MIN_SESSION_ID_LEN <= len(sid) <= MAX_SESSION_ID_LEN
    return sid


def pooled_session_id(version_number: int, pool_size: int) -> str:
    return f"pool-v{version_number}-{random.randrange(pool_size)}"

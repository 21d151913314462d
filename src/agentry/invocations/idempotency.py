"""`Idempotency-Key` for sync and stream calls.

Insert-first: the key's row is inserted (and committed) before the call runs, so of two
concurrent duplicates the unique constraint (tenant_id, key) lets exactly one through; the other
sees the row. A finished call stores its answer on the row; a failed one deletes the row so
the key can be retried. Only requests that carry the header pay these round trips.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agentry.identity.principal import Principal
from agentry.invocations.repository import IdempotencyRepository
from agentry.kit.clock import utcnow
from agentry.kit.db.engine import session_scope
from agentry.kit.errors import BadRequest, Conflict
from agentry.kit.ids import new_id
from agentry.models import IdempotencyRecord

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")


class InvalidIdempotencyKey(BadRequest):
    code = "invalid_idempotency_key"
    title = "Invalid Idempotency-Key"


class IdempotencyKeyReused(Conflict):
    code = "idempotency_key_reused"
    title = "The Idempotency-Key was used with a different request"


class IdempotencyInProgress(Conflict):
    code = "idempotency_in_progress"
    title = "A request with this Idempotency-Key is still running"


def check_key(key: str) -> str:
    if not _KEY.match(key):
        raise InvalidIdempotencyKey("Idempotency-Key must be 1-255 printable ASCII characters.")
    return key


def request_hash(mode: str, agent: str, body: Any) -> str:
    """Of the parsed request, so whitespace or key order in the JSON does not matter."""
    canonical = json.dumps([mode, agent, body], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Claim:
    """This request owns the key and runs the call."""

    record_id: str
    invocation_id: str


@dataclass(frozen=True, slots=True)
class Existing:
    """An earlier request with the same key and body: `done` with its answer, or running."""

    invocation_id: str
    done: bool
    status: int | None
    body: bytes | None


class IdempotencyStore:
    def __init__(self, maker: async_sessionmaker[AsyncSession], ttl_s: int) -> None:
        self._maker = maker
        self._ttl = timedelta(seconds=ttl_s)

    async def claim(
        self,
        principal: Principal,
        key: str,
        req_hash: str,
        *,
        invocation_id: str,
        running_s: float,
    ) -> Claim | Existing:
        record_id = new_id("idk")
        for _ in range(3):
            now = utcnow()
            try:
                async with session_scope(self._maker) as session:
                    await IdempotencyRepository(session, principal.tenant_id).add(
                        IdempotencyRecord(
                            id=record_id,
                            tenant_id=principal.tenant_id,
                            key=key,
                            request_hash=req_hash,
                            invocation_id=invocation_id,
                            state="pending",
                            created_at=now,
                            expires_at=now + timedelta(seconds=running_s),
                        )
                    )
                return Claim(record_id, invocation_id)
            except IntegrityError:
                pass
            async with session_scope(self._maker) as session:
                repo = IdempotencyRepository(session, principal.tenant_id)
                found = await repo.get_by_key(key)
                if found is None:
                    continue  # deleted meanwhile (a failed call): try again
                if found.expires_at <= utcnow():
                    # Expired: kept too long, or its API process died mid-call. Take it over.
                    await repo.delete_expired_key(key, utcnow())
                    continue
                if found.request_hash != req_hash:
                    raise IdempotencyKeyReused(
                        "This Idempotency-Key was first used with another request body or "
                        "endpoint; use a new key for a new request."
                    )
                return Existing(
                    invocation_id=found.invocation_id,
                    done=found.state == "done",
                    status=found.response_status,
                    body=found.response_body,
                )
        raise IdempotencyInProgress(
            "The key is contended; retry shortly.", headers={"Retry-After": "1"}
        )

    async def complete(self, principal: Principal, claim: Claim, status: int, body: bytes) -> None:
        async with session_scope(self._maker) as session:
            await IdempotencyRepository(session, principal.tenant_id).complete(
                claim.record_id, status=status, body=body, expires_at=utcnow() + self._ttl
            )

    async def abandon(self, principal: Principal, claim: Claim) -> None:
        async with session_scope(self._maker) as session:
            await IdempotencyRepository(session, principal.tenant_id).delete_pending(
                claim.record_id
            )

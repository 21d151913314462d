"""The audit trail: append-only and hash-chained, so an edited or deleted row is detectable.

Each row's hash is sha256(prev_hash + canonical JSON of its fields), where tenant ids are
taken in pseudonymised form (`psn_…`, an HMAC under a server key). Erasing a tenant replaces
its ids with those same pseudonyms, so the chain still verifies afterwards.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agentry.audit.repository import AuditRepository
from agentry.kit.clock import utcnow
from agentry.kit.context import request_id_var
from agentry.kit.db.engine import session_scope
from agentry.kit.ids import new_id
from agentry.models import AuditEvent

GENESIS = "0" * 64
_PSEUDONYM = re.compile(r"^psn_[0-9a-f]{24}$")
# Detail keys that could carry a credential or content; refused outright.
_FORBIDDEN_DETAIL = re.compile(
    r"(secret|token|password|authorization|api_key|^key$|payload|prompt|input|output)", re.I
)


class Outcome(StrEnum):
    success = "success"
    denied = "denied"
    failure = "failure"


@dataclass(frozen=True, slots=True)
class Verification:
    ok: bool
    checked: int
    first_bad_seq: int | None = None
    reason: str = ""


class AuditLog:
    def __init__(self, maker: async_sessionmaker[AsyncSession], key: bytes) -> None:
        self._maker = maker
        self._key = hmac.digest(key, b"agentry-audit-pseudonym", "sha256")

    def pseudonym(self, value: str | None) -> str | None:
        if value is None or _PSEUDONYM.match(value):
            return value
        return "psn_" + hmac.digest(self._key, value.encode(), "sha256").hex()[:24]

    async def append(
        self,
        session: AsyncSession,
        *,
        actor: str,
        action: str,
        outcome: Outcome = Outcome.success,
        actor_tenant_id: str | None = None,
        target_tenant_id: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> AuditEvent:
        """Append in the caller's transaction: it commits or rolls back with the change."""
        details = details or {}
        for name in details:
            if _FORBIDDEN_DETAIL.search(name):
                raise ValueError(f"audit details may not carry '{name}'")
        repo = AuditRepository(session)
        await repo.lock_for_append()
        last = await repo.last()
        seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
        event = AuditEvent(
            id=new_id("aud"),
            seq=seq,
            at=utcnow(),
            actor=actor,
            actor_tenant_id=actor_tenant_id,
            target_tenant_id=target_tenant_id,
            action=action,
            outcome=outcome.value,
            request_id=request_id_var.get() or None,
            details=details,
            prev_hash=prev,
        )
        event.hash = self._digest(event, prev)
        return await repo.add(event)

    async def append_now(self, **fields: Any) -> AuditEvent:
        """Append in a transaction of its own (for denials, whose request rolls back)."""
        async with session_scope(self._maker) as session:
            return await self.append(session, **fields)

    async def verify(self, session: AsyncSession) -> Verification:
        prev, checked, expected_seq = GENESIS, 0, 1
        async for event in AuditRepository(session).iterate():
            if event.seq != expected_seq:
                return Verification(False, checked, event.seq, f"gap before seq {event.seq}")
            if event.prev_hash != prev:
                return Verification(False, checked, event.seq, "prev_hash does not link")
            if not hmac.compare_digest(self._digest(event, prev), event.hash):
                return Verification(False, checked, event.seq, "row content does not match hash")
            prev, checked, expected_seq = event.hash, checked + 1, event.seq + 1
        return Verification(True, checked)

    async def erase_tenant(self, session: AsyncSession, tenant_id: str) -> None:
        pseudonym = self.pseudonym(tenant_id)
        assert pseudonym is not None
        await AuditRepository(session).pseudonymise_tenant(tenant_id, pseudonym)

    def _digest(self, event: AuditEvent, prev: str) -> str:
        at: datetime = event.at
        content = {
            "id": event.id,
            "seq": event.seq,
            "at": at.isoformat(timespec="microseconds"),
            "actor": event.actor,
            "actor_tenant": self.pseudonym(event.actor_tenant_id),
            "target_tenant": self.pseudonym(event.target_tenant_id),
            "action": event.action,
            "outcome": event.outcome,
            "request_id": event.request_id,
            "details": event.details,
        }
        body = orjson.dumps(content, option=orjson.OPT_SORT_KEYS)
        return hashlib.sha256(prev.encode() + body).hexdigest()

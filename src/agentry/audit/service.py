"""The audit trail: append-only, hash-chained and anchored, so edits, deletions, truncation
and tail rewrites are detectable.

Each row's hash is HMAC-SHA256(chain key, prev_hash + canonical JSON of its fields), where
tenant ids are taken in pseudonymised form (`psn_…`, an HMAC under a server key). Erasing a
tenant replaces its ids with those same pseudonyms, so the chain still verifies afterwards.
Without the key nobody can recompute a row's hash. Signed checkpoints of the chain head
(`audit/checkpoints.py`), in the database and in an external append-only sink, pin the
chain's end: rows deleted from the tail, or a tail rewritten, no longer match the newest
checkpoint. Rows written before keyed hashes (`hash_alg` "sha256") verify only as a prefix
of the chain. docs/security.md says how far back a rewrite can go undetected.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agentry.audit.checkpoints import Checkpoint, CheckpointSink, Signer, newest
from agentry.audit.repository import AuditRepository
from agentry.kit.clock import utcnow
from agentry.kit.context import request_id_var
from agentry.kit.db.engine import session_scope
from agentry.kit.ids import new_id
from agentry.models import AuditEvent

GENESIS = "0" * 64
KEYED, LEGACY = "hmac-sha256", "sha256"
CHECKPOINTS_READ = 1000  # newest checkpoints per source that verify compares with the chain
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
    checkpoints: int = 0  # checkpoints the chain was compared with


class AuditLog:
    def __init__(
        self,
        maker: async_sessionmaker[AsyncSession],
        key: bytes,
        *,
        chain_key: bytes | None = None,
        sinks: Sequence[CheckpointSink] = (),
    ) -> None:
        """`key` derives the pseudonym key (keep it: pseudonyms are part of row hashes);
        `chain_key` (default: derived from `key`) keys row hashes and checkpoint signatures."""
        self._maker = maker
        self._key = hmac.digest(key, b"agentry-audit-pseudonym", "sha256")
        chain = chain_key if chain_key is not None else key
        self._chain_key = hmac.digest(chain, b"agentry-audit-chain", "sha256")
        self._signer = Signer(hmac.digest(chain, b"agentry-audit-checkpoint", "sha256"))
        self._sinks = tuple(sinks)

    @property
    def sinks(self) -> tuple[CheckpointSink, ...]:
        return self._sinks

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
            hash_alg=KEYED,
        )
        event.hash = self._digest(event, prev)
        return await repo.add(event)

    async def append_now(self, **fields: Any) -> AuditEvent:
        """Append in a transaction of its own (for denials, whose request rolls back)."""
        async with session_scope(self._maker) as session:
            return await self.append(session, **fields)

    async def verify(self, session: AsyncSession) -> Verification:
        """Walk the chain and compare it with every checkpoint found (database and sinks)."""
        found = await AuditRepository(session).checkpoints(CHECKPOINTS_READ)
        for sink in self._sinks:
            found.extend(await sink.recent(CHECKPOINTS_READ))
        for checkpoint in found:
            if not self._signer.valid(checkpoint):
                reason = "a checkpoint's signature does not verify (forged or edited)"
                return Verification(False, 0, checkpoint.seq, reason)
        pins: dict[int, set[str]] = {}
        for checkpoint in found:
            pins.setdefault(checkpoint.seq, set()).add(checkpoint.head_hash)
        prev, checked, expected_seq, keyed = GENESIS, 0, 1, False
        async for event in AuditRepository(session).iterate():
            if event.seq != expected_seq:
                return Verification(False, checked, event.seq, f"gap before seq {event.seq}")
            if event.prev_hash != prev:
                return Verification(False, checked, event.seq, "prev_hash does not link")
            if event.hash_alg == LEGACY and keyed:
                return Verification(False, checked, event.seq, "unkeyed hash after keyed rows")
            if event.hash_alg not in (KEYED, LEGACY):
                return Verification(False, checked, event.seq, "unknown hash algorithm")
            keyed = keyed or event.hash_alg == KEYED
            if not hmac.compare_digest(self._digest(event, prev), event.hash):
                return Verification(False, checked, event.seq, "row content does not match hash")
            if event.seq in pins and pins[event.seq] != {event.hash}:
                return Verification(False, checked, event.seq, "row differs from a checkpoint")
            prev, checked, expected_seq = event.hash, checked + 1, event.seq + 1
        head = newest(found)
        if head is not None and head.seq >= expected_seq:
            reason = f"chain truncated: a checkpoint pins seq {head.seq}, the chain ends before"
            return Verification(False, checked, expected_seq, reason, len(found))
        return Verification(True, checked, checkpoints=len(found))

    async def checkpoint(self) -> Checkpoint | None:
        """Sign the current head, store it and publish it to every sink (None: empty chain,
        or the head is already checkpointed)."""
        async with session_scope(self._maker) as session:
            repo = AuditRepository(session)
            head = await repo.last()
            if head is None:
                return None
            latest = await repo.checkpoints(1)
            if latest and (latest[0].seq, latest[0].head_hash) == head:
                return None
            checkpoint = self._signer.sign(*head)
            await repo.add_checkpoint(checkpoint)
        for sink in self._sinks:  # after the commit: a published checkpoint always exists
            await sink.publish(checkpoint)
        return checkpoint

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
        if event.hash_alg == LEGACY:
            return hashlib.sha256(prev.encode() + body).hexdigest()
        return hmac.digest(self._chain_key, prev.encode() + body, "sha256").hex()

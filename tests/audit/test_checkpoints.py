"""Anchored audit chain (finding 1): keyed row hashes and signed checkpoints of the head."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agentry.audit.checkpoints import FileSink
from agentry.audit.service import AuditLog, Verification
from agentry.kit.db.engine import session_scope
from agentry.models import AuditCheckpoint, AuditEvent

KEY = b"audit-test-key"


async def _fill(log: AuditLog, n: int) -> None:
    for i in range(n):
        await log.append_now(actor=f"key:key_{i}", action="api_key.create", details={"i": i})


async def _verify(maker: async_sessionmaker[AsyncSession], log: AuditLog) -> Verification:
    async with maker() as session:
        return await log.verify(session)


async def test_row_hashes_are_keyed(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    await _fill(AuditLog(sessionmaker, KEY), 2)
    # The same rows under another key do not verify: the hash cannot be recomputed without it.
    other = await _verify(sessionmaker, AuditLog(sessionmaker, b"another-key"))
    assert not other.ok
    assert other.first_bad_seq == 1
    async with sessionmaker() as session:
        algs = (await session.execute(select(AuditEvent.hash_alg))).scalars().all()
    assert set(algs) == {"hmac-sha256"}


async def test_truncating_the_tail_is_detected_by_a_checkpoint(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    log = AuditLog(sessionmaker, KEY)
    await _fill(log, 4)
    checkpoint = await log.checkpoint()
    assert checkpoint is not None
    assert checkpoint.seq == 4
    assert await log.checkpoint() is None  # an unchanged head is not checkpointed twice
    await _fill(log, 2)
    assert (await _verify(sessionmaker, log)).ok
    async with session_scope(sessionmaker) as session:
        await session.execute(delete(AuditEvent).where(AuditEvent.seq >= 3))
    result = await _verify(sessionmaker, log)
    assert not result.ok
    assert result.first_bad_seq == 3
    assert "truncated" in result.reason


async def test_an_external_sink_still_pins_the_head_when_db_checkpoints_are_deleted(
    sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    sink = FileSink(tmp_path / "checkpoints.jsonl")
    log = AuditLog(sessionmaker, KEY, sinks=[sink])
    await _fill(log, 3)
    await log.checkpoint()
    assert [c.seq for c in await sink.recent(10)] == [3]
    async with session_scope(sessionmaker) as session:
        await session.execute(delete(AuditCheckpoint))
        await session.execute(delete(AuditEvent).where(AuditEvent.seq == 3))
    result = await _verify(sessionmaker, log)
    assert not result.ok
    assert "truncated" in result.reason


async def test_a_forged_or_edited_checkpoint_is_detected(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    log = AuditLog(sessionmaker, KEY)
    await _fill(log, 3)
    await log.checkpoint()
    async with session_scope(sessionmaker) as session:  # move the pin back to hide rows 2-3
        await session.execute(update(AuditCheckpoint).values(seq=1))
    result = await _verify(sessionmaker, log)
    assert not result.ok
    assert "signature" in result.reason


async def test_legacy_unkeyed_rows_verify_only_as_a_prefix(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    log = AuditLog(sessionmaker, KEY)
    await _fill(log, 2)
    # Rows from before keyed hashes (migration 0011 marks them "sha256").
    async with session_scope(sessionmaker) as session:
        rows = (await session.execute(select(AuditEvent).order_by(AuditEvent.seq))).scalars()
        prev = "0" * 64
        for row in rows:
            row.hash_alg, row.prev_hash = "sha256", prev
            row.hash = log._digest(row, prev)
            assert row.hash == hashlib.sha256(prev.encode() + _body(log, row)).hexdigest()
            prev = row.hash
    await _fill(log, 2)  # keyed rows follow the legacy prefix
    assert (await _verify(sessionmaker, log)).ok
    async with session_scope(sessionmaker) as session:
        await session.execute(update(AuditEvent).where(AuditEvent.seq == 4).values(hash_alg="x"))
    assert not (await _verify(sessionmaker, log)).ok


def _body(log: AuditLog, row: AuditEvent) -> bytes:
    import orjson

    content = {
        "id": row.id,
        "seq": row.seq,
        "at": row.at.isoformat(timespec="microseconds"),
        "actor": row.actor,
        "actor_tenant": log.pseudonym(row.actor_tenant_id),
        "target_tenant": log.pseudonym(row.target_tenant_id),
        "action": row.action,
        "outcome": row.outcome,
        "request_id": row.request_id,
        "details": row.details,
    }
    return orjson.dumps(content, option=orjson.OPT_SORT_KEYS)


def test_checkpoint_signature_covers_every_field() -> None:
    log = AuditLog(None, KEY)  # type: ignore[arg-type]  # signing needs no database
    signed = log._signer.sign(7, "ab" * 32)
    assert log._signer.valid(signed)
    for forged in (replace(signed, seq=8), replace(signed, head_hash="cd" * 32)):
        assert not log._signer.valid(forged)

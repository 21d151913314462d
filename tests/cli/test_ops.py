from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from sqlalchemy import delete, select, update

from agentry.audit.wiring import build_audit_log
from agentry.config import Settings
from agentry.kit.db.engine import create_engine, create_sessionmaker, session_scope
from agentry.models import AuditCheckpoint, AuditEvent


def _verify(home: Path, url: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTRY_")}
    env.update(AGENTRY_HOME=str(home), AGENTRY_DATABASE_URL=url)
    return subprocess.run(
        [sys.executable, "-m", "agentry.cli.main", "ops", "audit", "verify", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_audit_verify_command_detects_an_edited_row(
    tmp_path: Path, sqlite_template: Path
) -> None:
    db = tmp_path / "agentry.db"
    shutil.copy(sqlite_template, db)
    url = f"sqlite+aiosqlite:///{db}"
    engine = create_engine(url)
    maker = create_sessionmaker(engine)
    audit = build_audit_log(Settings(home=tmp_path), maker)
    for i in range(3):
        await audit.append_now(actor=f"key:key_{i}", action="api_key.create")
    ok = _verify(tmp_path, url)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout) == {
        "ok": True,
        "checked": 3,
        "first_bad_seq": None,
        "reason": "",
        "checkpoints": 0,
    }

    async with session_scope(maker) as session:
        await session.execute(
            update(AuditEvent).where(AuditEvent.seq == 2).values(action="api_key.read")
        )
    await engine.dispose()
    bad = _verify(tmp_path, url)
    assert bad.returncode == 1
    assert json.loads(bad.stdout)["first_bad_seq"] == 2


async def _tampered(tmp_path: Path, sqlite_template: Path, tamper: str) -> dict[str, object]:
    """Fill, verify (which checkpoints the head), then tamper like an attacker with database
    access but without the audit key: the checkpoint rows in the database go too."""
    db = tmp_path / "agentry.db"
    shutil.copy(sqlite_template, db)
    url = f"sqlite+aiosqlite:///{db}"
    engine = create_engine(url)
    maker = create_sessionmaker(engine)
    audit = build_audit_log(Settings(home=tmp_path), maker)
    for i in range(5):
        await audit.append_now(actor=f"key:key_{i}", action="api_key.create")
    first = _verify(tmp_path, url)
    assert first.returncode == 0, first.stderr
    async with session_scope(maker) as session:
        await session.execute(delete(AuditCheckpoint))
        if tamper == "truncate":
            await session.execute(delete(AuditEvent).where(AuditEvent.seq >= 4))
        else:
            # Rewrite rows (from 4, or all of them) and recompute every hash from there with
            # plain SHA-256 over the canonical fields, which needs no key.
            start = 4 if tamper == "rewrite_tail" else 1
            rows = (await session.execute(select(AuditEvent).order_by(AuditEvent.seq))).scalars()
            prev = "0" * 64
            for row in rows:
                if row.seq >= start:
                    if row.seq >= 4:
                        row.action = "api_key.read"
                    row.prev_hash, row.hash_alg = prev, "sha256"
                    body = {
                        "id": row.id,
                        "seq": row.seq,
                        "at": row.at.isoformat(timespec="microseconds"),
                        "actor": row.actor,
                        "actor_tenant": None,
                        "target_tenant": None,
                        "action": row.action,
                        "outcome": row.outcome,
                        "request_id": row.request_id,
                        "details": row.details,
                    }
                    raw = prev.encode() + orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
                    row.hash = hashlib.sha256(raw).hexdigest()
                prev = row.hash
    await engine.dispose()
    bad = _verify(tmp_path, url)
    assert bad.returncode == 1, bad.stdout
    result: dict[str, object] = json.loads(bad.stdout)
    return result


@pytest.mark.parametrize(
    ("tamper", "bad_seq", "reason"),
    [
        ("truncate", 4, "truncated"),
        ("rewrite_tail", 4, "unkeyed hash after keyed rows"),
        ("rewrite_all", 5, "row differs from a checkpoint"),  # caught by the file sink
    ],
)
async def test_audit_verify_detects_truncation_and_rewritten_tails(
    tmp_path: Path, sqlite_template: Path, tamper: str, bad_seq: int, reason: str
) -> None:
    result = await _tampered(tmp_path, sqlite_template, tamper)
    assert result["ok"] is False
    assert result["first_bad_seq"] == bad_seq
    assert reason in str(result["reason"])

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from sqlalchemy import update

from agentry.api_keys.pepper import api_key_pepper
from agentry.audit.service import AuditLog
from agentry.config import Settings
from agentry.kit.db.engine import create_engine, create_sessionmaker, session_scope
from agentry.models import AuditEvent


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
    audit = AuditLog(maker, api_key_pepper(Settings(home=tmp_path)))
    for i in range(3):
        await audit.append_now(actor=f"key:key_{i}", action="api_key.create")
    ok = _verify(tmp_path, url)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout) == {"ok": True, "checked": 3, "first_bad_seq": None, "reason": ""}

    async with session_scope(maker) as session:
        await session.execute(
            update(AuditEvent).where(AuditEvent.seq == 2).values(action="api_key.read")
        )
    await engine.dispose()
    bad = _verify(tmp_path, url)
    assert bad.returncode == 1
    assert json.loads(bad.stdout)["first_bad_seq"] == 2

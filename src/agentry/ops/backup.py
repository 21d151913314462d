"""Database backup and restore for operators: SQLite through its online backup API (a
consistent copy while the platform runs), PostgreSQL through pg_dump / pg_restore."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says why."""


def _sqlite_file(url: str) -> Path | None:
    parsed = make_url(url)
    if not parsed.drivername.startswith("sqlite"):
        return None
    if not parsed.database or parsed.database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up")
    return Path(parsed.database)


def _pg_url(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _copy(src: Path, dst: Path) -> None:
    source, target = sqlite3.connect(src), sqlite3.connect(dst)
    try:
        with target:
            source.backup(target)
    finally:
        source.close()
        target.close()


def backup(url: str, out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    db = _sqlite_file(url)
    if db is not None:
        if not db.exists():
            raise BackupError(f"no database at {db}")
        out.unlink(missing_ok=True)
        _copy(db, out)
        return out
    if shutil.which("pg_dump") is None:
        raise BackupError("pg_dump is not installed (Debian: apt-get install postgresql-client)")
    subprocess.run(["pg_dump", "-Fc", "-f", str(out), _pg_url(url)], check=True)
    return out


def restore(url: str, source: Path) -> None:
    if not source.exists():
        raise BackupError(f"no backup at {source}")
    db = _sqlite_file(url)
    if db is not None:
        check = sqlite3.connect(source)
        try:
            if check.execute("PRAGMA integrity_check").fetchone() != ("ok",):
                raise BackupError(f"{source} is not a sound SQLite database")
        finally:
            check.close()
        _copy(source, db)
        return
    if shutil.which("pg_restore") is None:
        raise BackupError("pg_restore is not installed (Debian: apt-get install postgresql-client)")
    subprocess.run(
        ["pg_restore", "--clean", "--if-exists", "--no-owner", "-d", _pg_url(url), str(source)],
        check=True,
    )

"""Shared fixtures. Databases: SQLite always; PostgreSQL when a server answers.

PostgreSQL comes from AGENTRY_TEST_POSTGRES_URL, else 127.0.0.1:5432 as user postgres. When
neither answers, PostgreSQL tests skip and say why, unless AGENTRY_TEST_REQUIRE_POSTGRES=1
(CI), where they fail instead.
"""

from __future__ import annotations

import os
import shutil
import socket
import urllib.parse
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agentry.kit.db.engine import create_engine, create_sessionmaker
from agentry.kit.db.migrate import upgrade
from agentry.models import Base
from agentry.testing.inproc import InProcApp, running_app
from agentry.testing.stack import Stack, start_stack, stop_stack

REPO_ROOT = Path(__file__).resolve().parents[1]
_DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"


def _pg_server_url() -> str | None:
    url = os.environ.get("AGENTRY_TEST_POSTGRES_URL", _DEFAULT_PG)
    parts = urllib.parse.urlsplit(url)
    try:
        socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 5432), 2).close()
    except OSError:
        return None
    return url


def _async_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+asyncpg://", 1)


def require_postgres() -> str:
    url = _pg_server_url()
    if url is None:
        reason = (
            "PostgreSQL not available: set AGENTRY_TEST_POSTGRES_URL or run a server on "
            "127.0.0.1:5432 (user postgres, trust auth)"
        )
        if os.environ.get("AGENTRY_TEST_REQUIRE_POSTGRES") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    return url


class PostgresDatabase:
    """A fresh database on the test server, dropped at the end."""

    def __init__(self, server_url: str) -> None:
        self.server_url = server_url
        self.name = f"agentry_test_{uuid.uuid4().hex[:12]}"
        parts = urllib.parse.urlsplit(server_url)
        self.url = _async_url(urllib.parse.urlunsplit(parts._replace(path=f"/{self.name}")))

    def _admin(self, sql: str) -> None:
        import asyncio

        import asyncpg

        async def run() -> None:
            conn = await asyncpg.connect(self.server_url)
            try:
                await conn.execute(sql)
            finally:
                await conn.close()

        asyncio.run(run())

    def create(self) -> str:
        self._admin(f'CREATE DATABASE "{self.name}"')
        return self.url

    def drop(self) -> None:
        self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file; each test copies it instead of migrating again."""
    path = tmp_path_factory.mktemp("sqlite-template") / "agentry.db"
    upgrade(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    server = require_postgres()
    db = PostgresDatabase(server)
    url = db.create()
    upgrade(url)
    yield url
    db.drop()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path
) -> Iterator[str]:
    if request.param == "sqlite":
        path = tmp_path / "agentry.db"
        shutil.copy(sqlite_template, path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    url: str = request.getfixturevalue("pg_template")
    yield url
    _truncate(url)


def _truncate(url: str) -> None:
    import asyncio

    async def run() -> None:
        engine = create_engine(url)
        async with engine.begin() as conn:
            names = ", ".join(f'"{t.name}"' for t in reversed(Base.metadata.sorted_tables))
            await conn.execute(text(f"TRUNCATE {names} CASCADE"))
        await engine.dispose()

    asyncio.run(run())


@pytest.fixture
async def sessionmaker(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(database_url)
    yield create_sessionmaker(engine)
    await engine.dispose()


@pytest.fixture
async def session(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    async with sessionmaker() as s:
        yield s
        await s.rollback()


@pytest.fixture(
    scope="session", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def stack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """The platform in real processes, once per database backend."""
    home = tmp_path_factory.mktemp(f"stack-{request.param}")
    db: PostgresDatabase | None = None
    database_url = ""
    if request.param == "postgresql":
        db = PostgresDatabase(require_postgres())
        database_url = db.create()
    # Failed-auth throttling is tested on its own; the shared stack must not trip it. Retry
    # back-off is tested on its own too (tests/jobs/test_dispatch.py): here a retried job
    # waits half a second, not five.
    running = start_stack(
        home,
        database_url=database_url,
        max_payload_bytes="65536",
        auth_failure_limit="10000/minute",
        job_retry_backoff_s="0.5",
    )
    yield running
    stop_stack(running)
    if db is not None:
        db.drop()


@pytest.fixture
async def api(database_url: str, tmp_path: Path) -> AsyncIterator[InProcApp]:
    """The API in-process over ASGI, on a fresh database (both backends)."""
    async with running_app(database_url, tmp_path, auth_failure_limit="10000/minute") as app:
        yield app

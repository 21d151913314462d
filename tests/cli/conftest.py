"""The API over real HTTP (uvicorn in a thread, SQLite) for CLI commands that call it."""

from __future__ import annotations

import asyncio
import shutil
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from pydantic import SecretStr

from agentry.api_keys.service import issue_key
from agentry.app import create_app
from agentry.config import Settings
from agentry.identity.principal import Role
from agentry.kit.db.engine import create_engine, create_sessionmaker, session_scope
from agentry.tenants.service import create_tenant


async def _operator_key(url: str, pepper: str) -> str:
    engine = create_engine(url)
    try:
        async with session_scope(create_sessionmaker(engine)) as session:
            tenant = await create_tenant(session, slug="ops", display_name="Ops", tier="premium")
            issued = await issue_key(
                session, tenant, name="op", role=Role.operator, pepper=pepper.encode()
            )
            return issued.secret
    finally:
        await engine.dispose()


@pytest.fixture
def api_env(tmp_path: Path, sqlite_template: Path) -> Iterator[dict[str, str]]:
    db = tmp_path / "agentry.db"
    shutil.copy(sqlite_template, db)
    url = f"sqlite+aiosqlite:///{db}"
    settings = Settings(
        home=tmp_path,
        database_url=url,
        api_key_pepper=SecretStr("cli-pepper"),
        tool_target_allow_private=True,
        log_level="WARNING",
        jobs_embedded_workers=False,
    )
    key = asyncio.run(_operator_key(url, "cli-pepper"))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings, migrate=False), port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started and thread.is_alive():
        threading.Event().wait(0.02)
    yield {
        "AGENTRY_DATABASE_URL": url,
        "AGENTRY_URL": f"http://127.0.0.1:{port}",
        "AGENTRY_OPERATOR_KEY": key,
        "AGENTRY_HOME": str(tmp_path),
    }
    server.should_exit = True
    thread.join(10)

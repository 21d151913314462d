"""`agentry ops tools ...` against the real API over HTTP (SQLite) and a real MCP server."""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from pydantic import SecretStr
from typer.testing import CliRunner

from agentry.api_keys.service import issue_key
from agentry.app import create_app
from agentry.cli.main import app as cli
from agentry.config import Settings
from agentry.identity.principal import Role
from agentry.kit.db.engine import create_engine, create_sessionmaker, session_scope
from agentry.tenants.service import create_tenant
from tests.gateway.mcp_remote import RemoteMcp, directory_server


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
        "AGENTRY_URL": f"http://127.0.0.1:{port}",
        "AGENTRY_OPERATOR_KEY": key,
        "AGENTRY_HOME": str(tmp_path),
    }
    server.should_exit = True
    thread.join(10)


@pytest.fixture
def remote() -> Iterator[RemoteMcp]:
    server = directory_server().start()
    yield server
    server.stop()


def test_operator_adds_grants_lists_and_removes_a_target(
    api_env: dict[str, str], remote: RemoteMcp
) -> None:
    runner = CliRunner()

    def run(*args: str) -> tuple[int, str, str]:
        result = runner.invoke(cli, ["ops", "tools", *args], env=api_env)
        return result.exit_code, result.stdout, result.stderr

    code, out, _ = run(
        "targets", "add", "crm", remote.url, "--auth-header", "X-Api-Key: k1", "--json"
    )
    assert code == 0, out
    added = json.loads(out)
    assert {t["name"] for t in added["tools"]} == {"crm___whois", "crm___add"}
    assert "k1" not in out

    code, out, _ = run("targets", "add", "crm", remote.url)
    assert code == 1
    assert "tool_target_exists" in out + _

    code, out, _ = run("grant", "crm___add", "--tiers", "basic,premium", "--json")
    assert code == 0
    assert json.loads(out)["tiers"] == ["basic", "premium"]
    code, out, _ = run("list", "--json")
    tiers = {t["name"]: t["tiers"] for t in json.loads(out)}
    assert tiers["crm___add"] == ["basic", "premium"]
    assert tiers["crm___whois"] == ["premium"]

    code, out, _ = run("targets", "list")
    assert code == 0
    assert "crm___whois" in out
    code, out, _ = run("targets", "refresh", "crm", "--json")
    assert code == 0
    assert json.loads(out)["name"] == "crm"
    code, out, _ = run("targets", "remove", "crm", "--json")
    assert code == 0
    assert json.loads(out) == {"ok": True, "removed": "crm"}
    code, out, err = run("targets", "remove", "crm")
    assert code == 1
    assert "tool_target_not_found" in err
    code, out, _ = run("targets", "list", "--json")
    assert json.loads(out) == []

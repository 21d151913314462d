"""`agentry ops tools ...` against the real API over HTTP (SQLite) and a real MCP server."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from agentry.cli.main import app as cli
from tests.gateway.mcp_remote import RemoteMcp, directory_server


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

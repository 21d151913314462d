"""`agentry ops tenants ...` against the real API over HTTP (SQLite)."""

from __future__ import annotations

import json

import httpx
from typer.testing import CliRunner

from agentry.cli.main import app as cli


def test_operator_onboards_changes_tier_suspends_and_reactivates(
    api_env: dict[str, str],
) -> None:
    runner = CliRunner()

    def run(*args: str) -> tuple[int, str, str]:
        result = runner.invoke(cli, ["ops", "tenants", *args], env=api_env)
        return result.exit_code, result.stdout, result.stderr

    code, out, _ = run("onboard", "initech", "--name", "Initech", "--tier", "standard", "--json")
    assert code == 0, out
    created = json.loads(out)
    tenant_id, admin_key = created["id"], created["admin_key"]
    assert created["tier"] == "standard"

    code, out, err = run("onboard", "initech", "--name", "Again")
    assert code == 1
    assert "tenant_exists" in err or "conflict" in err, err

    code, out, _ = run("set-tier", tenant_id, "premium")
    assert code == 0
    assert "tier premium" in out
    code, _, err = run("set-tier", tenant_id, "platinum")
    assert code == 1
    assert "validation_error" in err

    code, out, _ = run("suspend", tenant_id, "--json")
    assert json.loads(out)["status"] == "suspended"
    me = httpx.get(
        f"{api_env['AGENTRY_URL']}/v1/me", headers={"Authorization": f"Bearer {admin_key}"}
    )
    assert me.status_code == 403
    assert me.json()["code"] == "tenant_suspended"
    code, out, _ = run("reactivate", tenant_id)
    assert code == 0
    me = httpx.get(
        f"{api_env['AGENTRY_URL']}/v1/me", headers={"Authorization": f"Bearer {admin_key}"}
    )
    assert me.status_code == 200

    # The table, piped (not a terminal, as under make): whole ids, never cut short.
    code, table, _ = run("list")
    assert code == 0
    assert tenant_id in table
    assert "…" not in table

    code, out, _ = run("list", "--json")
    listed = {t["slug"]: t for t in json.loads(out)}
    assert listed["initech"]["tier"] == "premium"
    assert listed["initech"]["status"] == "active"

    code, _, err = run("erase", tenant_id)
    assert code == 2  # no --yes, nothing erased
    code, out, _ = run("list", "--json")
    assert "initech" in {t["slug"] for t in json.loads(out)}
    code, _, err = run("suspend", "ten_doesnotexist")
    assert code == 1
    assert "not_found" in err

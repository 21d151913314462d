"""RUNBOOK-008 as written: the operator onboards a developer; the developer, with only that
key, scaffolds, pushes and invokes an agent; the operator sees the push by that key, offboards
the developer, and the revoked key is refused with 401 `invalid_api_key`."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from agentry.testing.stack import Stack
from tests.runbooks.pages import page
from tests.runbooks.support import Operator

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]
AGENT = "rb008_agent"


def test_runbook_008_onboards_a_developer_who_pushes_then_offboards(
    ops_stack: Stack, operator: Operator, tmp_path: Path
) -> None:
    steps = page("008").steps()
    onboard, listed, *develop, versions, listed_again, offboard, listed_after = steps
    assert len(develop) == 4
    keyfile, agent_dir = tmp_path / "dana.env", tmp_path / AGENT
    shell = {"DEVELOPER": "dana", "KEYFILE": str(keyfile), "AGENT": AGENT, "DIR": str(agent_dir)}

    done = operator.make(onboard, **shell).stdout
    assert "onboarded dana" in done
    (secret,) = re.findall(r'AGENTRY_DEVELOPER_KEY="([^"]+)"', keyfile.read_text())
    assert secret not in done  # OUT: the secret is in the file only
    assert keyfile.stat().st_mode & 0o777 == 0o600
    (key,) = [k for k in operator.json("make ops-developers") if k["name"] == "developer dana"]
    assert key["scopes"] == ["invoke", "jobs", "registry:write"]
    assert key["revoked_at"] is None
    assert "developer dana" in operator.make(listed).stdout

    # The developer's shell: the new key only (never the seeded developer key).
    dana = Operator(ops_stack, extra={"AGENTRY_DEVELOPER_KEY": secret})
    created, valid, pushed, answer = (dana.make(line, **shell).stdout for line in develop)
    assert "created" in created
    assert "valid" in valid
    assert (agent_dir / "agent.toml").exists()
    assert pushed
    assert '"echo": "hello"' in answer

    shown = operator.make(versions, **shell).stdout
    assert f"key:{key['id']}" in shown
    assert "alias live → v1" in shown
    assert key["id"] in operator.make(listed_again).stdout  # last use is flushed within 30 s

    assert f"revoked {key['id']}" in operator.make(offboard, KEY=key["id"]).stdout
    (gone,) = [k for k in operator.json("make ops-developers") if k["id"] == key["id"]]
    assert gone["revoked_at"] is not None
    assert key["id"] in operator.make(listed_after).stdout

    refused = dana.make(f"make agent-versions NAME={AGENT}", ok=False)
    assert refused.returncode != 0
    assert "invalid_api_key" in refused.stderr
    with ops_stack.client(secret) as client:
        answer_after = client.get(f"/v1/registry/agents/{AGENT}/versions")
    assert answer_after.status_code == 401
    assert answer_after.json()["code"] == "invalid_api_key"
    audit = operator.make("make ops-audit-export").stdout
    mine = [line for line in audit.splitlines() if key["id"] in line]
    assert any('"action": "api_key.create"' in line for line in mine)
    assert any('"action": "api_key.revoke"' in line for line in mine)


def test_offboarding_refuses_a_key_that_is_no_developer_key(
    ops_stack: Stack, operator: Operator
) -> None:
    with ops_stack.client(ops_stack.acme_key) as acme:
        (tenant_key,) = [k["id"] for k in acme.get("/v1/api-keys").json()["items"]][:1]
    done = operator.make(f"make ops-developer-offboard KEY={tenant_key}", ok=False)
    assert done.returncode != 0
    assert "developer_not_found" in done.stderr
    with ops_stack.client(ops_stack.acme_key) as acme:
        assert acme.get("/v1/api-keys").status_code == 200  # still valid

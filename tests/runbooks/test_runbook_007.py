"""RUNBOOK-007 as written: a developer pushes three versions of an agent (the third as a
canary); the operator stops the canary, pins v1, and invocations run v1; the audit has it."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentry.testing.stack import Stack
from tests.registry.test_selfservice import make_agent, set_body
from tests.runbooks.pages import page
from tests.runbooks.support import Operator, run_page

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]
AGENT = "rb007"


def _version(stack: Stack) -> int:
    with stack.client(stack.acme_key) as acme:
        answer = acme.post(f"/v1/agents/{AGENT}/invoke", json={"input": {"prompt": "hi"}})
    assert answer.status_code == 200, answer.text
    return int(answer.json()["version"])


def _alias(operator: Operator) -> dict[str, object]:
    data = operator.json(f"make ops-agent-versions AGENT={AGENT}")
    (live,) = [a for a in data["aliases"] if a["name"] == "live"]
    return dict(live)


def test_runbook_007_stops_a_canary_and_pins_the_first_version(
    ops_stack: Stack, operator: Operator, tmp_path: Path
) -> None:
    agent = make_agent(tmp_path, AGENT)
    operator.make(f"make agent-push AGENT={agent}")
    set_body(agent, '{"echo": payload.get("prompt"), "v": 2}')
    operator.make(f"make agent-push AGENT={agent}")
    set_body(agent, '{"echo": payload.get("prompt"), "v": 3}')
    operator.make(f"make agent-push AGENT={agent} CANARY=50")
    before = _alias(operator)
    assert (before["version"], before["canary_version"]) == (2, 3)

    steps = page("007").steps()
    listed, stopped, pinned, after = run_page(
        operator, steps, AGENT=AGENT, ALIAS="live", VERSION="1"
    )
    assert "canary v3 at 50%" in listed
    assert "→ version 2" in stopped  # the canary stopped, the stable version kept
    assert "→ version 1" in pinned
    assert "alias live → v1" in after
    assert "canary" not in after
    state = _alias(operator)
    assert (state["version"], state["canary_version"]) == (1, None)
    assert {_version(ops_stack) for _ in range(3)} == {1}

    audit = operator.make("make ops-audit-export").stdout
    events = [line for line in audit.splitlines() if f'"agent": "{AGENT}"' in line]
    assert any('"action": "registry.alias.rollback"' in e for e in events)
    pins = [e for e in events if '"action": "registry.alias.set"' in e]
    assert any('"to": {"version": 1}' in e for e in pins)

    # Backing out: back to v2, then leave it there.
    operator.make(f"make ops-alias-rollback AGENT={AGENT} ALIAS=live VERSION=2")
    assert _version(ops_stack) == 2


def test_rollback_of_an_unknown_agent_or_alias_is_refused(operator: Operator) -> None:
    unknown = operator.make("make ops-alias-rollback AGENT=no_such_agent ALIAS=live", ok=False)
    assert unknown.returncode != 0
    assert "agent_not_found" in unknown.stderr
    alias = operator.make("make ops-alias-rollback AGENT=echo ALIAS=nosuch", ok=False)
    assert alias.returncode != 0
    assert "nothing_to_roll_back" in alias.stderr
    versions = operator.make("make ops-agent-versions AGENT=no_such_agent", ok=False)
    assert versions.returncode != 0
    assert "agent_not_found" in versions.stderr

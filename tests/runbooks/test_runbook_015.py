"""RUNBOOK-015 as written: the token issuer, usage, tools and a tier grant, all make targets."""

from __future__ import annotations

import pytest

from agentry.testing.stack import Stack
from tests.runbooks.pages import page
from tests.runbooks.support import Operator

pytestmark = pytest.mark.e2e


def test_runbook_015_steps_run(ops_stack: Stack, operator: Operator) -> None:
    steps = page("015").steps()
    assert steps[0] == "make ops-token-issuer"
    issuer = operator.json(steps[0])
    assert issuer["issuer"] == ops_stack.url
    assert issuer["kids"]
    (acme_id,) = [t["id"] for t in operator.json("make ops-tenants") if t["slug"] == "acme"]
    before = {t["name"]: t for t in operator.json("make ops-tools")}
    tiers = before["insights___forecast"]["tiers"]
    for line in steps[1:]:
        out = operator.make(line.replace("ten_...", acme_id).replace(" > usage.json", "")).stdout
        assert out
    after = {t["name"]: t for t in operator.json("make ops-tools")}
    assert set(after["insights___forecast"]["tiers"]) == {"standard", "premium"}
    operator.make(f"make ops-tool-grant TOOL=insights___forecast TIERS={','.join(tiers)}")
    restored = {t["name"]: t for t in operator.json("make ops-tools")}
    assert restored["insights___forecast"]["tiers"] == tiers

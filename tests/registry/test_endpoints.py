from __future__ import annotations

import pytest

from agentry.testing.stack import Stack

pytestmark = pytest.mark.e2e


def test_both_tenants_see_the_echo_agent_with_its_live_alias(stack: Stack) -> None:
    for key in (stack.acme_key, stack.globex_key):
        with stack.client(key) as c:
            items = c.get("/v1/agents").json()["items"]
        echo = next(a for a in items if a["name"] == "echo")
        assert {"name": "live", "version": 1} in echo["aliases"]
        assert "sync" in echo["modes"]


def test_listing_agents_needs_a_key(stack: Stack) -> None:
    with stack.client() as c:
        r = c.get("/v1/agents")
    assert r.status_code == 401
    assert r.json()["code"] == "missing_credentials"

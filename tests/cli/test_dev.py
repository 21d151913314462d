"""`agentry dev up/down`: what `make dev` and `make dev-down` run."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from agentry.testing.stack import alive, session_pids, start_stack, stop_stack

pytestmark = pytest.mark.e2e


@pytest.mark.timeout(300)
def test_dev_up_twice_then_down_leaves_no_process(tmp_path: Path) -> None:
    stack = start_stack(tmp_path / "home")
    try:
        first_keys = dict(stack.creds)
        with stack.client(stack.acme_key) as c:
            assert (
                c.post("/v1/agents/echo/invoke", json={"input": {"prompt": "1"}}).status_code == 200
            )
        agents = session_pids(stack)
        assert agents
        old_services = [stack.pid("api"), stack.pid("runtime")]

        again = stack.cli("dev", "up")  # re-running restarts cleanly
        assert "Agentry is up" in again.stdout
        assert not any(alive(p) for p in old_services + agents)
        assert httpx.get(f"{stack.url}/healthz").status_code == 200
        with stack.client(first_keys["AGENTRY_API_KEY"]) as c:
            r = c.post("/v1/agents/echo/invoke", json={"input": {"prompt": "2"}})
        assert r.status_code == 200  # seeded keys survive a restart
        pids = [stack.pid("api"), stack.pid("runtime"), *session_pids(stack)]
    finally:
        stop_stack(stack)
    assert not any(alive(p) for p in pids)
    assert not list((stack.home / "pids").glob("*.pid"))

from __future__ import annotations

import pytest

from agentry.testing.stack import Stack

pytestmark = pytest.mark.e2e


def test_healthz_and_readyz_are_public_and_ok(stack: Stack) -> None:
    with stack.client() as c:
        assert c.get("/healthz").json() == {"status": "ok"}
        ready = c.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "runtime": "ok"}


def test_metrics_count_requests_by_route(stack: Stack) -> None:
    with stack.client(stack.acme_key) as c:
        c.post("/v1/agents/echo/invoke", json={"input": {"prompt": "m"}})
        text = c.get("/metrics").text
    assert "agentry_http_requests_total" in text
    assert 'route="/v1/agents/{agent}/invoke"' in text

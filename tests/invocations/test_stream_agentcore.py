"""Detached streams with `runtime_mode=agentcore`: every call through the AgentCore data-plane
HTTP API of the local emulator, as in AWS (SQLite, one replica)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from agentry.testing.stack import Stack, start_stack, stop_stack
from tests.invocations.sse import resume, stream

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def agentcore_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    running = start_stack(
        tmp_path_factory.mktemp("stack-agentcore"),
        runtime_mode="agentcore",
        auth_failure_limit="10000/minute",
    )
    yield running
    stop_stack(running)


def _words(n: int) -> str:
    return " ".join(f"w{i}" for i in range(n))


def test_drop_resume_and_cancel_through_the_data_plane(agentcore_stack: Stack) -> None:
    stack = agentcore_stack
    with stack.client(stack.acme_key) as c:
        partial = stream(c, {"input": {"prompt": _words(30), "stream": True}}, limit=2)
        rest = resume(c, partial.headers["x-invocation-id"], "1")
        assert [int(e.id) for e in rest.events] == list(range(2, 33))
        assert rest.kinds[-1] == "end"

        running = stream(c, {"input": {"prompt": _words(200), "stream": True}}, limit=3)
        invocation_id = running.headers["x-invocation-id"]
        asked = time.monotonic()
        cancelled = c.post(f"/v1/streams/{invocation_id}/cancel")
        stored = resume(c, invocation_id, None)
    assert cancelled.json()["status"] == "cancelled"
    assert time.monotonic() - asked < 5
    assert stored.events[-1].json["code"] == "stream_cancelled"
    assert stored.kinds.count("chunk") < 100

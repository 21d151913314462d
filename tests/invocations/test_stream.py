"""Streaming over real HTTP against real agent processes, parsed with a real SSE client."""

from __future__ import annotations

import itertools
import threading
import time
import uuid

import pytest

from agentry.testing.stack import Stack
from tests.invocations.sse import StreamResult, resume, stream

pytestmark = pytest.mark.e2e


def _words(n: int) -> str:
    return " ".join(f"w{i}" for i in range(n))


def _check_well_formed(result: StreamResult, words: int) -> None:
    assert result.status == 200
    assert result.headers["content-type"].startswith("text/event-stream")
    assert result.kinds == ["start"] + ["chunk"] * (words + 1) + ["end"]
    assert [e.id for e in result.events] == [str(i) for i in range(len(result.events))]


def test_stream_events_in_order_with_ids_and_usage(stack: Stack) -> None:
    with stack.client(stack.acme_key) as c:
        result = stream(c, {"input": {"prompt": "alpha beta gamma", "stream": True}})
    _check_well_formed(result, 3)
    start = result.events[0].json
    assert start["invocation_id"] == result.headers["x-invocation-id"]
    assert start["agent"] == "echo"
    assert start["version"] >= 1
    assert start["alias"] == "live"
    assert [e.json["word"] for e in result.events[1:4]] == ["alpha", "beta", "gamma"]
    assert result.events[4].json["done"] is True
    end = result.events[-1].json
    assert end["usage"]["runtime_ms"] > 0
    assert end["chunks"] == 4
    assert end["invocation_id"] == start["invocation_id"]


def test_chunks_arrive_as_the_agent_produces_them(stack: Stack) -> None:
    # The agent sleeps 50 ms after each word: buffered output would arrive all at once.
    with stack.client(stack.acme_key) as c:
        result = stream(c, {"input": {"prompt": _words(12), "stream": True}})
    _check_well_formed(result, 12)
    chunks = [e.at for e in result.events if e.event == "chunk"]
    assert chunks[-1] - chunks[0] > 0.3
    gaps = [b - a for a, b in itertools.pairwise(chunks)]
    assert sum(1 for g in gaps if g > 0.02) >= 8


def test_last_event_id_resumes_with_the_rest_after_the_stream_ended(stack: Stack) -> None:
    with stack.client(stack.acme_key) as c:
        first = stream(c, {"input": {"prompt": "one two three four", "stream": True}})
        invocation_id = first.headers["x-invocation-id"]
        rest = resume(c, invocation_id, "2")
        everything = resume(c, invocation_id, None)
    _check_well_formed(first, 4)
    assert rest.status == 200
    assert [(e.id, e.event, e.data) for e in rest.events] == [
        (e.id, e.event, e.data) for e in first.events[3:]
    ]
    assert [(e.id, e.data) for e in everything.events] == [(e.id, e.data) for e in first.events]


def test_resume_of_another_tenants_stream_is_404(stack: Stack) -> None:
    with stack.client(stack.acme_key) as c:
        first = stream(c, {"input": {"prompt": "mine", "stream": True}})
    with stack.client(stack.globex_key) as c:
        r = c.get(f"/v1/streams/{first.headers['x-invocation-id']}")
        assert r.status_code == 404
        assert r.json()["code"] == "stream_not_found"
        bad = c.get(
            f"/v1/streams/{first.headers['x-invocation-id']}", headers={"Last-Event-ID": "x"}
        )
        assert bad.status_code == 400
        assert bad.json()["code"] == "invalid_last_event_id"


def test_a_dropped_connection_does_not_stop_the_agent_and_a_resume_gets_the_rest(
    stack: Stack,
) -> None:
    """The user's report: 40 words, drop after 2 events, resume with Last-Event-ID: 1."""
    words = 40  # the agent takes ~2 s
    with stack.client(stack.acme_key) as c:
        partial = stream(c, {"input": {"prompt": _words(words), "stream": True}}, limit=2)
        invocation_id = partial.headers["x-invocation-id"]
        rest = resume(c, invocation_id, "1")
    assert partial.kinds == ["start", "chunk"]
    assert [e.id for e in rest.events] == [str(i) for i in range(2, words + 3)]  # exactly once
    assert [e.json["word"] for e in rest.events[: words - 1]] == [f"w{i}" for i in range(1, words)]
    assert rest.kinds[-2:] == ["chunk", "end"]
    # Resumed while the agent was still producing: frames kept arriving after the reconnect.
    assert rest.events[-1].at - rest.events[0].at > 0.5


def test_cancel_stops_the_agent_and_every_reader_gets_the_terminal_event(stack: Stack) -> None:
    words = 200  # ~10 s of agent output
    with stack.client(stack.acme_key) as c:
        partial = stream(c, {"input": {"prompt": _words(words), "stream": True}}, limit=3)
        invocation_id = partial.headers["x-invocation-id"]
        readers: list[StreamResult] = []
        threads = [
            threading.Thread(target=lambda: readers.append(resume(c, invocation_id, "1")))
            for _ in range(3)
        ]
        for t in threads:
            t.start()
        time.sleep(0.3)
        asked = time.monotonic()
        cancelled = c.post(f"/v1/streams/{invocation_id}/cancel")
        for t in threads:
            t.join(15)
        again = c.post(f"/v1/streams/{invocation_id}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json() == {"invocation_id": invocation_id, "status": "cancelled"}
    assert time.monotonic() - asked < 5
    assert again.json()["status"] == "cancelled"  # idempotent
    assert len(readers) == 3
    for reader in readers:
        assert reader.kinds[-1] == "error"
        assert reader.events[-1].json["code"] == "stream_cancelled"
        assert 2 <= reader.kinds.count("chunk") < words // 2
    # The agent process saw its connection close.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        logs = "".join(p.read_text(errors="replace") for p in stack.home.rglob("*.log"))
        if "stream closed by the caller after" in logs and f"of {words} words" in logs:
            break
        time.sleep(0.1)
    else:
        raise AssertionError("the agent never saw the connection close")


def test_cancel_of_a_finished_unknown_or_other_tenants_stream(stack: Stack) -> None:
    with stack.client(stack.acme_key) as c:
        done = stream(c, {"input": {"prompt": "short", "stream": True}})
        invocation_id = done.headers["x-invocation-id"]
        ended = c.post(f"/v1/streams/{invocation_id}/cancel")
        unknown = c.post(f"/v1/streams/inv_{'0' * 30}/cancel")
        malformed = c.post("/v1/streams/nope/cancel")
    with stack.client(stack.globex_key) as c:
        other = c.post(f"/v1/streams/{invocation_id}/cancel")
    assert (ended.status_code, ended.json()["code"]) == (409, "stream_ended")
    assert (unknown.status_code, unknown.json()["code"]) == (404, "stream_not_found")
    assert (other.status_code, other.json()) == (404, {**other.json(), "code": "stream_not_found"})
    assert other.json()["detail"] == unknown.json()["detail"]  # identical: nothing leaks
    assert malformed.status_code == 422


def test_an_idempotent_retry_of_a_running_stream_attaches_to_it(stack: Stack) -> None:
    key = f"attach-{uuid.uuid4().hex}"
    body = {"input": {"prompt": _words(30), "stream": True}}
    with stack.client(stack.acme_key) as c:
        first = stream(c, body, headers={"Idempotency-Key": key}, limit=2)
        retry = stream(c, body, headers={"Idempotency-Key": key})
        stored = resume(c, first.headers["x-invocation-id"], None)
    assert retry.headers["idempotent-replayed"] == "true"
    assert retry.headers["x-invocation-id"] == first.headers["x-invocation-id"]
    _check_well_formed(retry, 30)  # the whole stream, once: the agent was not started again
    assert [(e.id, e.data) for e in retry.events] == [(e.id, e.data) for e in stored.events]
    assert retry.events[-1].json["chunks"] == 31


def test_last_event_id_beyond_the_end_of_a_finished_stream(stack: Stack) -> None:
    with stack.client(stack.acme_key) as c:
        done = stream(c, {"input": {"prompt": "a b", "stream": True}})
        beyond = resume(c, done.headers["x-invocation-id"], "999")
    assert beyond.status == 200
    assert [(e.id, e.event) for e in beyond.events] == [(done.events[-1].id, "end")]


def test_agent_failure_is_an_error_event_shaped_as_a_problem(stack: Stack) -> None:
    with stack.client(stack.acme_key) as c:
        result = stream(c, {"input": {"fail": "tool exploded", "stream": True}})
    assert result.kinds == ["start", "error"]
    problem = result.events[1].json
    assert problem["code"] == "agent_error"
    assert problem["status"] == 502
    assert "tool exploded" not in result.events[1].data  # stays in the agent's logs
    assert problem["invocation_id"] == result.events[0].json["invocation_id"]
    assert problem["type"].endswith("/agent_error")


def test_stream_sessions_are_namespaced_per_tenant(stack: Stack) -> None:
    sid = f"shared-{uuid.uuid4().hex[:8]}"
    body = {"input": {"prompt": "x", "stream": True}, "session_id": sid}
    with stack.client(stack.acme_key) as c:
        acme = stream(c, body)
        acme_sync = c.post("/v1/agents/echo/invoke", json={"input": {}, "session_id": sid}).json()
    with stack.client(stack.globex_key) as c:
        globex = stream(c, body)
    acme_done, globex_done = acme.events[-2].json, globex.events[-2].json
    assert acme.events[0].json["session_id"] == globex.events[0].json["session_id"] == sid
    assert acme_done["session_id"] != globex_done["session_id"]
    assert acme_done["pid"] != globex_done["pid"]
    assert sid not in acme_done["session_id"]
    # The runtime session id is `<tenant id>-<hash>`: each tenant's own prefix.
    assert acme_done["session_id"].split("-")[0] != globex_done["session_id"].split("-")[0]
    # Stream and sync share the tenant's runtime session for the same client session id.
    assert acme_sync["output"]["session_id"] == acme_done["session_id"]
    assert acme_sync["output"]["pid"] == acme_done["pid"]


def test_stream_idempotency_key_replays_the_same_events(stack: Stack) -> None:
    key = f"stream-{uuid.uuid4().hex}"
    body = {"input": {"prompt": "replay me", "stream": True}}
    with stack.client(stack.acme_key) as c:
        first = stream(c, body, headers={"Idempotency-Key": key})
        again = stream(c, body, headers={"Idempotency-Key": key})
        other = c.post(
            "/v1/agents/echo/stream",
            json={"input": {"prompt": "something else", "stream": True}},
            headers={"Idempotency-Key": key},
        )
    _check_well_formed(first, 2)
    assert "idempotent-replayed" not in first.headers
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["x-invocation-id"] == first.headers["x-invocation-id"]
    assert [(e.id, e.event, e.data) for e in again.events] == [
        (e.id, e.event, e.data) for e in first.events
    ]
    assert other.status_code == 409
    assert other.headers["content-type"].startswith("application/problem+json")
    assert other.json()["code"] == "idempotency_key_reused"


def test_stream_on_unknown_alias_is_404(stack: Stack) -> None:
    with stack.client(stack.acme_key) as c:
        r = c.post("/v1/agents/echo/stream", json={"input": {}, "alias": "nosuch"})
        unknown_agent = c.post("/v1/agents/nope/stream", json={"input": {}})
    assert r.status_code == 404
    assert r.json()["code"] == "alias_not_found"
    assert unknown_agent.status_code == 404


def test_stream_oversized_payload_is_413_and_bad_body_422(stack: Stack) -> None:
    with stack.client(stack.acme_key) as c:
        big = c.post("/v1/agents/echo/stream", json={"input": {"prompt": "x" * 70_000}})
        bad = c.post("/v1/agents/echo/stream", json={"inputs": {}})
    assert big.status_code == 413
    assert big.json()["code"] == "payload_too_large"
    assert bad.status_code == 422
    assert bad.json()["code"] == "validation_error"

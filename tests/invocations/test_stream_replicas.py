"""Streams across API replicas: started on A, dropped, resumed on B while the agent is still
producing (PostgreSQL: LISTEN/NOTIFY wakes B); cancelled from B while A runs it. Also many
readers and a reader that never reads, with the API's memory measured."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentry.testing.stack import Replica, Stack, start_replica
from tests.invocations.sse import StreamResult, read_stream, resume, stream

pytestmark = pytest.mark.e2e


def _words(n: int) -> str:
    return " ".join(f"w{i}" for i in range(n))


@pytest.fixture(scope="module")
def replica(stack: Stack) -> Iterator[Replica]:
    if not stack.env.get("AGENTRY_DATABASE_URL"):
        pytest.skip(
            "API replicas share a database server: PostgreSQL only (the embedded SQLite "
            "default runs one API process; test_stream.py covers it)"
        )
    second = start_replica(stack)
    yield second
    second.stop()


def test_resume_on_another_replica_gets_frames_3_to_40_exactly_once(
    stack: Stack, replica: Replica
) -> None:
    words = 40
    with stack.client(stack.acme_key) as a:
        partial = stream(a, {"input": {"prompt": _words(words), "stream": True}}, limit=2)
    invocation_id = partial.headers["x-invocation-id"]
    with replica.client(stack.acme_key) as b:
        rest = resume(b, invocation_id, "1")
    assert partial.kinds == ["start", "chunk"]
    ids = [int(e.id) for e in rest.events]
    assert ids == list(range(2, words + 3))  # every remaining frame, once, in order
    assert [e.json.get("word") for e in rest.events[: words - 1]] == [
        f"w{i}" for i in range(1, words)
    ]
    assert rest.kinds[-1] == "end"
    # B followed the live stream: frames arrived over the agent's remaining ~2 s.
    assert rest.events[-1].at - rest.events[0].at > 0.5


def test_cancel_on_another_replica_stops_the_agent(stack: Stack, replica: Replica) -> None:
    with stack.client(stack.acme_key) as a:
        partial = stream(a, {"input": {"prompt": _words(200), "stream": True}}, limit=3)
    invocation_id = partial.headers["x-invocation-id"]
    with replica.client(stack.acme_key) as b:
        asked = time.monotonic()
        cancelled = b.post(f"/v1/streams/{invocation_id}/cancel")
        assert cancelled.status_code in (200, 202), cancelled.text
        stored = resume(b, invocation_id, None)
    assert time.monotonic() - asked < 6
    assert stored.kinds[-1] == "error"
    assert stored.events[-1].json["code"] == "stream_cancelled"
    assert stored.kinds.count("chunk") < 100


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_fifty_readers_and_a_reader_that_never_reads(stack: Stack) -> None:
    words = 60
    api_pid = stack.pid("api")
    with stack.client(stack.acme_key) as c:
        partial = stream(c, {"input": {"prompt": _words(words), "stream": True}}, limit=1)
    invocation_id = partial.headers["x-invocation-id"]
    before = _rss_kib(api_pid)
    # A reader that sends its request and never reads a byte of the answer.
    host, port = stack.url.removeprefix("http://").split(":")
    stuck = socket.create_connection((host, int(port)))
    stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stuck.sendall(
        f"GET /v1/streams/{invocation_id} HTTP/1.1\r\nHost: x\r\n"
        f"Authorization: Bearer {stack.acme_key}\r\n\r\n".encode()
    )
    results: list[StreamResult] = []
    lock = threading.Lock()

    def read() -> None:
        with stack.client(stack.acme_key) as c:
            got = read_stream(c, "GET", f"/v1/streams/{invocation_id}")
        with lock:
            results.append(got)

    readers = [threading.Thread(target=read) for _ in range(50)]
    started = time.monotonic()
    for t in readers:
        t.start()
    for t in readers:
        t.join(60)
    took = time.monotonic() - started
    after = _rss_kib(api_pid)
    stuck.close()
    assert len(results) == 50
    for r in results:
        assert r.kinds == ["start"] + ["chunk"] * (words + 1) + ["end"]
    # Readers do not slow the agent: the ~3 s stream ends on time for every one of them.
    assert took < 15
    # Bounded memory: 50 readers and a stalled one cost a few MiB, not a copy of the stream each.
    assert after - before < 40 * 1024, (before, after)

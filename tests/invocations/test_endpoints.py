"""Sync invocation over real HTTP, against real agent processes, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from agentry.testing.stack import Stack, session_pids, wait_dead

pytestmark = pytest.mark.e2e


def _invoke(stack: Stack, body: dict[str, Any], key: str | None = None) -> Any:
    with stack.client(key or stack.acme_key) as c:
        return c.post("/v1/agents/echo/invoke", json=body)


def test_invoke_echo_returns_ids_and_output(stack: Stack) -> None:
    r = _invoke(stack, {"input": {"prompt": "hi"}})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["invocation_id"].startswith("inv_")
    assert body["session_id"]
    assert body["output"]["echo"] == "hi"
    assert body["output"]["payload"] == {"prompt": "hi"}
    assert body["usage"]["runtime_ms"] >= 0
    assert r.headers["x-request-id"].startswith("req_")


def test_agent_runs_in_its_own_process_and_sessions_map_to_processes(stack: Stack) -> None:
    sid = f"s-{uuid.uuid4().hex}"
    first = _invoke(stack, {"input": {"prompt": "a"}, "session_id": sid}).json()
    again = _invoke(stack, {"input": {"prompt": "b"}, "session_id": sid}).json()
    other = _invoke(stack, {"input": {"prompt": "c"}, "session_id": sid + "-2"}).json()
    pid = first["output"]["pid"]
    assert again["output"]["pid"] == pid
    assert other["output"]["pid"] != pid
    assert pid not in (stack.pid("api"), stack.pid("runtime"))
    assert pid in session_pids(stack)
    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    assert "agentry.runtime.emulator.host" in cmdline
    assert first["session_id"] == sid


def test_same_session_id_in_two_tenants_never_shares_a_process(stack: Stack) -> None:
    sid = f"shared-{uuid.uuid4().hex[:8]}"
    acme = _invoke(stack, {"input": {"prompt": "x"}, "session_id": sid}, stack.acme_key).json()
    globex = _invoke(stack, {"input": {"prompt": "x"}, "session_id": sid}, stack.globex_key).json()
    assert acme["session_id"] == globex["session_id"] == sid
    assert acme["output"]["pid"] != globex["output"]["pid"]
    assert acme["output"]["session_id"] != globex["output"]["session_id"]


def test_streaming_agent_called_sync_returns_its_frames(stack: Stack) -> None:
    r = _invoke(stack, {"input": {"prompt": "one two", "stream": True}})
    assert r.status_code == 200, r.text
    frames = r.json()["output"]
    assert [f.get("word") for f in frames[:2]] == ["one", "two"]
    assert frames[-1]["done"] is True


def test_agent_exception_is_502_agent_error_without_its_text(stack: Stack) -> None:
    r = _invoke(stack, {"input": {"fail": "tool exploded"}})
    assert r.status_code == 502
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["code"] == "agent_error"
    assert "tool exploded" not in r.text  # an unhandled exception's text stays in agent logs
    assert body["request_id"]
    assert body["invocation_id"].startswith("inv_")


def test_agent_process_dying_is_502_runtime_unavailable_and_next_call_gets_fresh_process(
    stack: Stack,
) -> None:
    sid = f"crash-{uuid.uuid4().hex[:8]}"
    before = _invoke(stack, {"input": {"prompt": "x"}, "session_id": sid}).json()["output"]["pid"]
    r = _invoke(stack, {"input": {"crash": True}, "session_id": sid})
    assert r.status_code == 502
    assert r.json()["code"] == "runtime_unavailable"
    assert wait_dead(before)
    with stack.client() as c:
        assert c.get("/healthz").status_code == 200
    after = _invoke(stack, {"input": {"prompt": "y"}, "session_id": sid})
    assert after.status_code == 200
    assert after.json()["output"]["pid"] != before


def _problem(r: Any, status: int, code: str) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["code"] == code
    assert body["status"] == status
    assert body["detail"]
    assert body["request_id"]


def test_unknown_agent_is_404(stack: Stack) -> None:
    with stack.client(stack.acme_key) as c:
        _problem(c.post("/v1/agents/nope/invoke", json={"input": {}}), 404, "agent_not_found")


def test_unknown_alias_is_404(stack: Stack) -> None:
    r = _invoke(stack, {"input": {}, "alias": "nosuch"})
    _problem(r, 404, "alias_not_found")


def test_malformed_json_is_400(stack: Stack) -> None:
    with stack.client(stack.acme_key) as c:
        r = c.post(
            "/v1/agents/echo/invoke",
            content=b'{"input": ',
            headers={"content-type": "application/json"},
        )
    _problem(r, 400, "malformed_json")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "input"),
        ({"input": {}, "session_id": "bad id with spaces"}, "session_id"),
        ({"input": {}, "tenant_id": "ten_other"}, "tenant_id"),
        ({"input": {}, "alias": "-x"}, "alias"),
    ],
)
def test_wrong_body_is_422_naming_the_field(stack: Stack, body: dict[str, Any], field: str) -> None:
    r = _invoke(stack, body)
    _problem(r, 422, "validation_error")
    assert any(field in e["loc"] for e in r.json()["errors"])


def test_missing_key_is_401(stack: Stack) -> None:
    with stack.client() as c:
        r = c.post("/v1/agents/echo/invoke", json={"input": {}})
    _problem(r, 401, "missing_credentials")
    assert r.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    ("key", "code"),
    [
        ("agy_" + "A" * 38, "invalid_api_key"),
        ("agy_", "invalid_api_key"),
        ("garbage", "invalid_token"),
    ],
)
def test_invalid_key_is_401(stack: Stack, key: str, code: str) -> None:
    # Anything not starting with agy_ is taken for an access token.
    r = _invoke(stack, {"input": {}}, key)
    _problem(r, 401, code)


def test_payload_over_the_limit_is_413(stack: Stack) -> None:
    big = {"input": {"prompt": "x" * 70_000}}
    _problem(_invoke(stack, big), 413, "payload_too_large")


def test_chunked_payload_over_the_limit_is_413(stack: Stack) -> None:
    def chunks() -> Any:
        yield b'{"input": {"prompt": "'
        for _ in range(80):
            yield b"x" * 1000
        yield b'"}}'

    with stack.client(stack.acme_key) as c:
        r = c.post(
            "/v1/agents/echo/invoke", content=chunks(), headers={"content-type": "application/json"}
        )
    _problem(r, 413, "payload_too_large")


def test_logs_carry_request_and_tenant_but_no_secret_or_payload(stack: Stack) -> None:
    marker = f"payload-secret-{uuid.uuid4().hex}"
    r = _invoke(stack, {"input": {"prompt": marker}})
    assert r.status_code == 200
    request_id = r.headers["x-request-id"]
    log = ""
    for _ in range(50):
        log = stack.log("api") + stack.log("runtime")
        if request_id in log:
            break
        time.sleep(0.1)
    assert request_id in log
    assert marker not in log
    assert stack.acme_key not in log
    assert stack.globex_key not in log


@pytest.mark.parametrize(
    ("agent", "payload"),
    [
        ("longrun", None),
        ("echo", None),
        ("echo", {"deep": json.loads("[" * 40 + "]" * 40)}),
        ("echo", {"sleep": "soon"}),
    ],
)
def test_input_an_agent_refuses_is_422_with_its_message_and_no_exception_text(
    stack: Stack, agent: str, payload: Any
) -> None:
    with stack.client(stack.acme_key) as c:
        r = c.post(f"/v1/agents/{agent}/invoke", json={"input": payload})
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["code"] == "agent_rejected_input"
    assert body["detail"]
    assert body["request_id"] == r.headers["x-request-id"]
    for leak in ("Traceback", "NoneType", "attribute", "recursion"):
        assert leak not in r.text


def test_json_nested_past_the_platform_limit_is_400(stack: Stack) -> None:
    deep = "[" * 100 + "]" * 100
    with stack.client(stack.acme_key) as c:
        r = c.post(
            "/v1/agents/echo/invoke",
            content=f'{{"input": {{"deep": {deep}}}}}'.encode(),
            headers={"content-type": "application/json"},
        )
    assert r.status_code == 400, r.text
    assert r.json()["code"] == "json_too_deep"

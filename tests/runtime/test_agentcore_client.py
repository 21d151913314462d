"""AgentCoreRuntime and AgentCoreControl against the emulator (real processes, real HTTP)."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import AsyncIterator
from urllib.parse import unquote, urlsplit

import pytest
from aiohttp import web
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from agentry.kit.errors import BadRequest
from agentry.runtime.agentcore import AgentCoreControl, AgentCoreRuntime, map_error
from agentry.runtime.artifacts import DEFAULT_BUCKET, LocalArtifactStore, code_artifact
from agentry.runtime.base import (
    AGENT_FAILED_DETAIL,
    REQUEST_ID_HEADER,
    SESSION_HEADER,
    AgentFailed,
    AgentRejectedInput,
    AgentTimeout,
    RuntimeInternal,
    RuntimeNotFound,
    RuntimeSpec,
    RuntimeTarget,
    RuntimeThrottled,
    RuntimeUnavailable,
    SessionStartFailed,
)
from agentry.runtime.sse import iter_sse_data
from tests.runtime.support import EchoRuntime, EmulatorProc, pid_alive, session_id, wait_until

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
async def runtime(emulator: EmulatorProc) -> AsyncIterator[AgentCoreRuntime]:
    client = AgentCoreRuntime(emulator.settings)
    await client.start()
    yield client
    await client.aclose()


async def _call(
    runtime: AgentCoreRuntime, target: RuntimeTarget, sid: str, payload: dict[str, object]
) -> dict[str, object]:
    result = await runtime.invoke(
        target, sid, json.dumps(payload).encode(), request_id="req-1", timeout=30
    )
    assert result.session_id == sid
    assert result.content_type == "application/json"
    body: dict[str, object] = json.loads(result.body)
    return body


async def test_invoke_sessions_map_to_processes(
    runtime: AgentCoreRuntime, emulator: EmulatorProc, echo_runtime: EchoRuntime, warm_sid: str
) -> None:
    target = RuntimeTarget(echo_runtime.arn, "live")
    sid_a, sid_b = warm_sid, session_id()
    first, other = await asyncio.gather(
        _call(runtime, target, sid_a, {"prompt": "one"}),
        _call(runtime, target, sid_b, {"prompt": "two"}),
    )
    again = await _call(runtime, target, sid_a, {"prompt": "three"})
    assert first["echo"] == "one"
    assert again["echo"] == "three"
    assert first["pid"] == again["pid"]
    assert other["pid"] != first["pid"]
    assert first["pid"] not in (os.getpid(), emulator.pid)
    assert other["session_id"] == sid_b


async def test_stream_frames_arrive_one_by_one(
    runtime: AgentCoreRuntime, echo_runtime: EchoRuntime, warm_sid: str
) -> None:
    target = RuntimeTarget(echo_runtime.arn)
    arrivals: list[tuple[float, dict[str, object]]] = []
    payload = json.dumps({"prompt": "alpha beta gamma delta", "stream": True}).encode()
    async for frame in runtime.invoke_stream(
        target, warm_sid, payload, request_id="req-s", timeout=30
    ):
        arrivals.append((time.monotonic(), json.loads(frame)))
    words = [f["word"] for _, f in arrivals if "word" in f]
    assert words == ["alpha", "beta", "gamma", "delta"]
    assert arrivals[-1][1]["done"] is True
    # The agent sleeps 50 ms per word: buffered frames would all land at once.
    span = arrivals[-1][0] - arrivals[0][0]
    assert span > 0.12


async def test_agent_error_and_crash(runtime: AgentCoreRuntime, echo_runtime: EchoRuntime) -> None:
    target = RuntimeTarget(echo_runtime.arn)
    sid = session_id()
    before = await _call(runtime, target, sid, {"prompt": "x"})
    with pytest.raises(AgentFailed) as failed:
        await _call(runtime, target, sid, {"fail": "the tool exploded"})
    assert failed.value.detail == AGENT_FAILED_DETAIL  # the exception text stays in agent logs
    assert failed.value.extra["agent_status"] == 500

    with pytest.raises(RuntimeUnavailable) as gone:
        await _call(runtime, target, sid, {"crash": True})
    assert "Runtime session terminated" in gone.value.detail
    assert not pid_alive(int(str(before["pid"])))
    after = await _call(runtime, target, sid, {"prompt": "again"})
    assert after["pid"] != before["pid"]
    assert after["echo"] == "again"


async def test_timeout_and_not_found(runtime: AgentCoreRuntime, echo_runtime: EchoRuntime) -> None:
    target = RuntimeTarget(echo_runtime.arn)
    with pytest.raises(AgentTimeout):
        await runtime.invoke(target, session_id(), b'{"sleep": 3}', request_id="req-t", timeout=0.5)
    with pytest.raises(RuntimeNotFound):
        await _call(runtime, RuntimeTarget(echo_runtime.arn, "nosuch"), session_id(), {})
    missing = echo_runtime.arn.replace(echo_runtime.runtime_id, "gone-0123456789")
    with pytest.raises(RuntimeNotFound):
        await _call(runtime, RuntimeTarget(missing), session_id(), {})


async def test_stop_session(runtime: AgentCoreRuntime, echo_runtime: EchoRuntime) -> None:
    target = RuntimeTarget(echo_runtime.arn)
    sid = session_id()
    pid = int(str((await _call(runtime, target, sid, {}))["pid"]))
    await runtime.stop_session(target, sid)
    assert wait_until(lambda: not pid_alive(pid), 5)
    await runtime.stop_session(target, sid)  # idempotent


async def test_unreachable_runtime_is_unavailable(emulator: EmulatorProc) -> None:
    from tests.runtime.support import free_port

    client = AgentCoreRuntime(emulator.settings, base_url=f"http://127.0.0.1:{free_port()}")
    try:
        with pytest.raises(RuntimeUnavailable):
            await client.invoke(
                RuntimeTarget("arn:x"), session_id(), b"{}", request_id="r", timeout=5
            )
    finally:
        await client.aclose()


async def test_sigv4_signed_request(
    emulator: EmulatorProc, monkeypatch: pytest.MonkeyPatch
) -> None:
    """AWS is out of reach: capture what the client sends and re-verify the signature."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    seen: list[tuple[str, dict[str, str], bytes]] = []

    async def capture(request: web.Request) -> web.Response:
        seen.append((request.raw_path, dict(request.headers), await request.read()))
        return web.json_response({"ok": True}, headers={SESSION_HEADER: "s" * 40})

    app = web.Application()
    app.router.add_post("/{tail:.*}", capture)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    arn = "arn:aws:bedrock-agentcore:eu-west-1:123456789012:runtime/echo-abcdefghij"
    client = AgentCoreRuntime(
        emulator.settings, base_url=f"http://127.0.0.1:{port}", sign_requests=True
    )
    try:
        await client.invoke(
            RuntimeTarget(arn), "s" * 40, b'{"prompt": "hi"}', request_id="req-9", timeout=5
        )
    finally:
        await client.aclose()
        await runner.cleanup()

    raw_path, headers, body = seen[0]
    assert unquote(urlsplit(raw_path).path) == f"/runtimes/{arn}/invocations"
    assert "%3A" in raw_path  # the ARN travels URL-encoded, exactly as signed
    auth = headers["Authorization"]
    assert auth.startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert "/eu-west-1/bedrock-agentcore/aws4_request" in auth
    assert headers[REQUEST_ID_HEADER] == "req-9"

    signed = auth.split("SignedHeaders=")[1].split(",")[0].split(";")
    request = AWSRequest(
        method="POST",
        url=f"http://127.0.0.1:{port}{raw_path}",
        data=body,
        headers={k: v for k, v in headers.items() if k.lower() in signed},
    )
    request.context["timestamp"] = headers["X-Amz-Date"]
    signer = SigV4Auth(
        Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
        "bedrock-agentcore",
        "eu-west-1",
    )
    canonical = signer.canonical_request(request)
    expected = signer.signature(signer.string_to_sign(request, canonical), request)
    assert auth.endswith(f"Signature={expected}")


async def test_control_client(emulator: EmulatorProc, echo_zip: bytes) -> None:
    settings = emulator.settings
    stored = await LocalArtifactStore.from_settings(settings).put("ctl/v1.zip", echo_zip)
    assert stored.bucket == DEFAULT_BUCKET
    spec = RuntimeSpec(
        name="ctl_agent",
        artifact=code_artifact(stored),
        environment={"MODE": "test"},
        header_allowlist=("X-Amzn-Bedrock-AgentCore-Runtime-Custom-Tenant",),
    )
    control = AgentCoreControl(settings)
    v1 = await control.create_runtime(spec)
    assert v1.version == "1"
    assert v1.runtime_arn.endswith(f"runtime/{v1.runtime_id}")
    assert await control.get_endpoint_version(v1.runtime_id, "live") is None
    await control.set_endpoint(v1.runtime_id, "live", "1")
    assert await control.get_endpoint_version(v1.runtime_id, "live") == "1"
    v2 = await control.update_runtime(v1.runtime_id, spec)
    assert v2.version == "2"
    assert await control.get_endpoint_version(v1.runtime_id, "live") == "1"
    assert await control.get_endpoint_version(v1.runtime_id, "DEFAULT") == "2"
    await control.set_endpoint(v1.runtime_id, "live", "2")
    assert await control.get_endpoint_version(v1.runtime_id, "live") == "2"
    with pytest.raises(BadRequest):
        await control.create_runtime(RuntimeSpec(name="9bad", artifact=spec.artifact))
    with pytest.raises(RuntimeNotFound):
        await control.update_runtime("nope-0123456789", spec)


@pytest.mark.parametrize(
    ("status", "error_type", "message", "expected", "detail"),
    [
        (
            424,
            "RuntimeClientError",
            "Received error (500) from runtime: 'NoneType' object has no attribute 'get'",
            AgentFailed,
            AGENT_FAILED_DETAIL,
        ),
        (
            424,
            "RuntimeClientError",
            "Received error (400) from runtime: input must be an object",
            AgentRejectedInput,
            "input must be an object",
        ),
        (424, "RuntimeClientError", "Runtime session terminated: x", RuntimeUnavailable, None),
        (
            424,
            "RuntimeClientError",
            "Runtime initialization time exceeded",
            SessionStartFailed,
            None,
        ),
        (424, "RuntimeClientError", "something else", AgentFailed, AGENT_FAILED_DETAIL),
        (404, "ResourceNotFoundException", "no", RuntimeNotFound, "no"),
        (429, "ThrottlingException", "slow", RuntimeThrottled, "slow"),
        (402, "ServiceQuotaExceededException", "full", RuntimeThrottled, "full"),
        (500, "InternalServerException", "oops", RuntimeInternal, None),
        (503, "", "", RuntimeInternal, None),
    ],
)
def test_error_mapping(
    status: int, error_type: str, message: str, expected: type, detail: str | None
) -> None:
    error = map_error(status, error_type, message)
    assert type(error) is expected
    if detail is not None:
        assert error.detail == detail


class _Chunks:
    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks

    async def iter_any(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            yield chunk


@pytest.mark.parametrize(
    "chunks",
    [
        [b'data: {"a": 1}\n\ndata: {"b": 2}\n\n'],
        [b'data: {"a": 1}\r\n\r\ndata: {"b"', b": 2}\r\n\r\n"],
        [b'event: x\nid: 1\ndata: {"a"', b': 1}\n\n: comment\ndata:{"b": 2}'],
    ],
)
async def test_sse_parser(chunks: list[bytes]) -> None:
    frames = [f async for f in iter_sse_data(_Chunks(chunks))]
    assert [json.loads(f) for f in frames] == [{"a": 1}, {"b": 2}]

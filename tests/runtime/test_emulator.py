"""The emulator against the real boto3 clients: shapes, versions, endpoints, errors."""

from __future__ import annotations

import io
import json
import os
import signal
import zipfile
from urllib.parse import quote

import aiohttp
import pytest
from botocore.exceptions import ClientError

from agentry.runtime.base import SESSION_HEADER
from tests.runtime.support import (
    EchoRuntime,
    EmulatorProc,
    pid_alive,
    session_id,
    start_emulator,
    wait_until,
)

pytestmark = pytest.mark.e2e


def _invoke(emulator: EmulatorProc, arn: str, sid: str, payload: dict[str, object], **kw: str):
    data = emulator.client("bedrock-agentcore")
    return data.invoke_agent_runtime(
        agentRuntimeArn=arn, runtimeSessionId=sid, payload=json.dumps(payload), **kw
    )


def _error_code(exc: ClientError) -> str:
    return str(exc.response["Error"]["Code"])


def test_boto3_invoke_shape(
    emulator: EmulatorProc, echo_runtime: EchoRuntime, warm_sid: str
) -> None:
    sid = warm_sid
    resp = _invoke(emulator, echo_runtime.arn, sid, {"prompt": "hello"}, qualifier="live")
    body = json.loads(resp["response"].read())
    assert resp["statusCode"] == 200
    assert resp["contentType"] == "application/json"
    assert resp["runtimeSessionId"] == sid
    assert body["echo"] == "hello"
    assert body["session_id"] == sid
    assert body["pid"] not in (os.getpid(), emulator.pid)
    assert pid_alive(body["pid"])


def test_boto3_stream_content_type(
    emulator: EmulatorProc, echo_runtime: EchoRuntime, warm_sid: str
) -> None:
    resp = _invoke(emulator, echo_runtime.arn, warm_sid, {"prompt": "a b c", "stream": True})
    assert resp["contentType"].startswith("text/event-stream")
    lines = [ln for ln in resp["response"].read().decode().split("\n\n") if ln]
    assert [json.loads(ln.removeprefix("data: ")).get("word") for ln in lines[:3]] == [
        "a",
        "b",
        "c",
    ]
    assert json.loads(lines[-1].removeprefix("data: "))["done"] is True


def test_boto3_agent_error_is_runtime_client_error(
    emulator: EmulatorProc, echo_runtime: EchoRuntime, warm_sid: str
) -> None:
    with pytest.raises(ClientError) as err:
        _invoke(emulator, echo_runtime.arn, warm_sid, {"fail": "agent says no"})
    assert _error_code(err.value) == "RuntimeClientError"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 424
    assert "agent says no" in err.value.response["Error"]["Message"]


def test_unknown_runtime_and_endpoint(emulator: EmulatorProc, echo_runtime: EchoRuntime) -> None:
    missing = echo_runtime.arn.replace(echo_runtime.runtime_id, "nope-0123456789")
    with pytest.raises(ClientError) as err:
        _invoke(emulator, missing, session_id(), {"prompt": "x"})
    assert _error_code(err.value) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as err:
        _invoke(emulator, echo_runtime.arn, session_id(), {"prompt": "x"}, qualifier="nosuch")
    assert _error_code(err.value) == "ResourceNotFoundException"
    control = emulator.client("bedrock-agentcore-control")
    with pytest.raises(ClientError) as err:
        control.get_agent_runtime(agentRuntimeId="nope-0123456789")
    assert _error_code(err.value) == "ResourceNotFoundException"


async def test_session_header_rules(emulator: EmulatorProc, echo_runtime: EchoRuntime) -> None:
    url = f"{emulator.url}/runtimes/{quote(echo_runtime.arn, safe='')}/invocations"
    async with aiohttp.ClientSession() as http:
        async with http.post(url, data=b"{}", headers={SESSION_HEADER: "short"}) as resp:
            assert resp.status == 400
            assert resp.headers["x-amzn-ErrorType"] == "ValidationException"
            assert "runtimeSessionId" in (await resp.json())["message"]
        async with http.post(url, data=b'{"prompt": "p"}') as resp:
            assert resp.status == 200
            generated = resp.headers[SESSION_HEADER]
            assert len(generated) >= 33
            assert (await resp.json())["session_id"] == generated


async def test_raw_control_validation(emulator: EmulatorProc) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.put(f"{emulator.url}/runtimes/", json={"agentRuntimeName": "x"}) as resp:
            assert resp.status == 400
            assert resp.headers["x-amzn-ErrorType"] == "ValidationException"
        async with http.put(f"{emulator.url}/runtimes/", data=b"{not json") as resp:
            assert resp.status == 400
        async with http.get(f"{emulator.url}/nothing/here") as resp:
            assert resp.status == 404
            assert resp.headers["x-amzn-ErrorType"] == "UnknownOperationException"


def test_create_validation(emulator: EmulatorProc, echo_zip: bytes) -> None:
    emulator.put_zip("echo/valid.zip", echo_zip)
    for name, key in (("1bad", "echo/valid.zip"), ("good_name", "echo/missing.zip")):
        with pytest.raises(ClientError) as err:
            emulator.create_runtime(name, key)
        assert _error_code(err.value) == "ValidationException"
    with pytest.raises(ClientError) as err:
        emulator.create_runtime(
            "lifecycle_bad",
            "echo/valid.zip",
            lifecycleConfiguration={"idleRuntimeSessionTimeout": 900, "maxLifetime": 600},
        )
    assert _error_code(err.value) == "ValidationException"


def test_zip_slip_refused(emulator: EmulatorProc) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("main.py", "print('hi')\n")
        zf.writestr("../../escaped.py", "boom\n")
    emulator.put_zip("evil/v1.zip", buffer.getvalue())
    with pytest.raises(ClientError) as err:
        emulator.create_runtime("evil", "evil/v1.zip")
    assert _error_code(err.value) == "ValidationException"
    assert "unsafe path" in err.value.response["Error"]["Message"]
    assert not list(emulator.home.rglob("escaped.py"))


def test_versions_and_endpoints(emulator: EmulatorProc, echo_zip: bytes) -> None:
    control = emulator.client("bedrock-agentcore-control")
    emulator.put_zip("vers/v1.zip", echo_zip)
    created = emulator.create_runtime(
        "versioned", "vers/v1.zip", environmentVariables={"AGENT_MARK": "one"}
    )
    rid, arn = created["agentRuntimeId"], created["agentRuntimeArn"]
    assert created["agentRuntimeVersion"] == "1"
    assert created["status"] == "READY"
    assert arn == f"arn:aws:bedrock-agentcore:eu-west-1:000000000000:runtime/{rid}"
    assert rid.startswith("versioned-")
    assert len(rid) == len("versioned-") + 10

    endpoint = control.create_agent_runtime_endpoint(
        agentRuntimeId=rid, name="live", agentRuntimeVersion="1"
    )
    assert endpoint["targetVersion"] == "1"
    with pytest.raises(ClientError) as err:
        control.create_agent_runtime_endpoint(agentRuntimeId=rid, name="live")
    assert _error_code(err.value) == "ConflictException"

    sid_v1 = session_id()
    _invoke(emulator, arn, sid_v1, {"prompt": "x"}, qualifier="live")

    updated = control.update_agent_runtime(
        agentRuntimeId=rid,
        roleArn="arn:aws:iam::000000000000:role/agentry-runtime",
        networkConfiguration={"networkMode": "PUBLIC"},
        agentRuntimeArtifact={
            "codeConfiguration": {
                "code": {"s3": {"bucket": "agentry-artifacts", "prefix": "vers/v1.zip"}},
                "runtime": "PYTHON_3_11",
                "entryPoint": ["opentelemetry-instrument", "main.py"],
            }
        },
        environmentVariables={"AGENT_MARK": "two"},
    )
    assert updated["agentRuntimeVersion"] == "2"
    live = control.get_agent_runtime_endpoint(agentRuntimeId=rid, endpointName="live")
    assert live["targetVersion"] == "1"
    default = control.get_agent_runtime_endpoint(agentRuntimeId=rid, endpointName="DEFAULT")
    assert default["targetVersion"] == "2"
    versions = control.list_agent_runtime_versions(agentRuntimeId=rid)["agentRuntimes"]
    assert [v["agentRuntimeVersion"] for v in versions] == ["2", "1"]
    got = control.get_agent_runtime(agentRuntimeId=rid)
    assert got["agentRuntimeVersion"] == "2"
    assert got["environmentVariables"] == {"AGENT_MARK": "two"}
    assert control.get_agent_runtime(agentRuntimeId=rid, agentRuntimeVersion="1")[
        "environmentVariables"
    ] == {"AGENT_MARK": "one"}

    def version_of(sid: str) -> str:
        return next(s["version"] for s in emulator.sessions() if s["sessionId"] == sid)

    sid_default = session_id()
    _invoke(emulator, arn, sid_default, {"prompt": "x"})  # DEFAULT → 2 (otel wrapper ignored)
    assert version_of(sid_default) == "2"
    assert version_of(sid_v1) == "1"

    moved = control.update_agent_runtime_endpoint(
        agentRuntimeId=rid, endpointName="live", agentRuntimeVersion="2"
    )
    assert moved["targetVersion"] == "2"
    sid_live2 = session_id()
    _invoke(emulator, arn, sid_live2, {"prompt": "x"}, qualifier="live")
    assert version_of(sid_live2) == "2"
    # A running session stays on the version it started on.
    _invoke(emulator, arn, sid_v1, {"prompt": "x"}, qualifier="live")
    assert version_of(sid_v1) == "1"


def test_sessions_processes_and_stop(emulator: EmulatorProc, echo_runtime: EchoRuntime) -> None:
    sid_a, sid_b = session_id(), session_id()
    pid_a = json.loads(_invoke(emulator, echo_runtime.arn, sid_a, {})["response"].read())["pid"]
    again = json.loads(_invoke(emulator, echo_runtime.arn, sid_a, {})["response"].read())["pid"]
    pid_b = json.loads(_invoke(emulator, echo_runtime.arn, sid_b, {})["response"].read())["pid"]
    assert pid_a == again
    assert pid_b != pid_a
    listed = {s["sessionId"]: s for s in emulator.sessions()}
    assert listed[sid_a]["pid"] == pid_a
    assert listed[sid_a]["runtimeId"] == echo_runtime.runtime_id
    log_file = emulator.home / "runtime" / "logs" / echo_runtime.runtime_id / f"{sid_a}.log"
    assert log_file.exists()

    data = emulator.client("bedrock-agentcore")
    stopped = data.stop_runtime_session(agentRuntimeArn=echo_runtime.arn, runtimeSessionId=sid_a)
    assert stopped["runtimeSessionId"] == sid_a
    assert wait_until(lambda: not pid_alive(pid_a), 5)
    assert sid_a not in {s["sessionId"] for s in emulator.sessions()}
    with pytest.raises(ClientError) as err:
        data.stop_runtime_session(agentRuntimeArn=echo_runtime.arn, runtimeSessionId=sid_a)
    assert _error_code(err.value) == "ResourceNotFoundException"
    fresh = json.loads(_invoke(emulator, echo_runtime.arn, sid_a, {})["response"].read())["pid"]
    assert fresh != pid_a


def test_shutdown_kills_sessions_and_state_survives_restart(tmp_path, echo_zip: bytes) -> None:
    emu = start_emulator(tmp_path / "home")
    try:
        emu.put_zip("echo/v1.zip", echo_zip)
        created = emu.create_runtime("persisted", "echo/v1.zip")
        emu.client("bedrock-agentcore-control").create_agent_runtime_endpoint(
            agentRuntimeId=created["agentRuntimeId"], name="live"
        )
        resp = _invoke(emu, created["agentRuntimeArn"], session_id(), {"prompt": "first"})
        pid = json.loads(resp["response"].read())["pid"]
        assert pid_alive(pid)
    finally:
        assert emu.stop() in (0, -15)  # uvicorn re-raises the SIGTERM it handled
    assert not pid_alive(pid)
    assert "runtime.emulator_stopped" in emu.log()

    emu = start_emulator(tmp_path / "home")
    try:
        control = emu.client("bedrock-agentcore-control")
        got = control.get_agent_runtime(agentRuntimeId=created["agentRuntimeId"])
        assert got["agentRuntimeArn"] == created["agentRuntimeArn"]
        live = control.get_agent_runtime_endpoint(
            agentRuntimeId=created["agentRuntimeId"], endpointName="live"
        )
        assert live["targetVersion"] == "1"
        resp = _invoke(
            emu, created["agentRuntimeArn"], session_id(), {"prompt": "back"}, qualifier="live"
        )
        body = json.loads(resp["response"].read())
        assert body["echo"] == "back"
    finally:
        # A crash (no cleanup at all): the session dies with its parent (PR_SET_PDEATHSIG).
        emu.proc.send_signal(signal.SIGKILL)
        emu.proc.wait()
    assert wait_until(lambda: not pid_alive(body["pid"]), 10)

"""Agent developer self-service, end to end: `agentry agent ...` against a real stack.

One stack for the module (SQLite), with short canary windows. Agents are copied into tmp dirs
and renamed, so tests never touch `agents/` and do not share agents with each other.
"""

from __future__ import annotations

import io
import json
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest

from agentry.registry import packaging
from agentry.testing.stack import REPO_ROOT, Stack, start_stack, stop_stack

# A whole stack starts in the module fixture; on 2 busy cores that alone can take a minute.
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

ECHO = REPO_ROOT / "agents" / "echo"


def _uv() -> str | None:
    found = shutil.which("uv")
    if found:
        return found
    local = REPO_ROOT / ".tools" / "bin" / "uv"
    return str(local) if local.exists() else None


@pytest.fixture(scope="module")
def dev() -> Iterator[Stack]:
    settings = {
        "canary_check_interval_s": "0.3",
        "canary_window_s": "8",
        "canary_min_calls": "6",
        # A canary's first calls include its sessions' cold starts; with few calls per window
        # that alone can cross a tight p95 rule. These tests judge errors; latency has unit tests.
        "canary_p95_floor_ms": "5000",
        "log_json": "false",
    }
    uv = _uv()
    if uv:
        settings["uv_bin"] = uv
    # Not under pytest's rotating basetemp: the home must outlive concurrent pytest sessions.
    home = Path(tempfile.mkdtemp(prefix="agentry-selfservice-"))
    stack = start_stack(home, **settings)
    try:
        yield stack
    finally:
        stop_stack(stack)
    shutil.rmtree(home, ignore_errors=True)


def agent_cli(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    return stack.cli("agent", *args, check=False)


def agent_json(stack: Stack, *args: str, code: int = 0) -> Any:
    result = agent_cli(stack, *args, "--json")
    assert result.returncode == code, result.stdout + result.stderr
    return json.loads(result.stdout)


def make_agent(tmp_path: Path, name: str, body: str | None = None, **manifest: str) -> Path:
    """A copy of echo named `name`; `body` replaces its handler's return expression."""
    target = tmp_path / name
    shutil.copytree(ECHO, target)
    toml = (target / "agent.toml").read_text().replace('name = "echo"', f'name = "{name}"')
    for key, value in manifest.items():
        toml += f"{key} = {value}\n"
    (target / "agent.toml").write_text(toml)
    if body is not None:
        set_body(target, body)
    return target


def set_body(agent: Path, body: str) -> None:
    main = (ECHO / "main.py").read_text()
    head, _, _ = main.partition("    return {\n")
    tail = '\n\nif __name__ == "__main__":\n    app.run()\n'
    (agent / "main.py").write_text(f"{head}    return {body}{tail}")


def invoke(stack: Stack, name: str, payload: dict[str, Any], **extra: Any) -> httpx.Response:
    with stack.client(stack.acme_key) as client:
        return client.post(f"/v1/agents/{name}/invoke", json={"input": payload, **extra})


def alias_of(stack: Stack, name: str) -> dict[str, Any]:
    with stack.client(stack.developer_key) as client:
        data = client.get(f"/v1/registry/agents/{name}/versions").json()
    return next(a for a in data["aliases"] if a["name"] == "live")


def audit_actions(stack: Stack, agent: str) -> list[tuple[str, dict[str, Any]]]:
    db = sqlite3.connect(stack.home / "agentry.db")
    try:
        rows = db.execute("SELECT action, details FROM audit_events ORDER BY seq").fetchall()
    finally:
        db.close()
    found = [(a, json.loads(d)) for a, d in rows]
    return [(a, d) for a, d in found if d.get("agent") == agent]


# Done when 1 and 2 ------------------------------------------------------------------------


def test_push_changed_echo_then_unchanged_then_rollback(dev: Stack, tmp_path: Path) -> None:
    agent = make_agent(tmp_path, "echo_push")
    first = agent_json(dev, "push", str(agent))
    assert first["created"] is True
    assert first["version"] == 1
    assert [s["step"] for s in first["steps"]] == [
        "package",
        "upload",
        "build environment",
        "start and ping",
        "golden cases",
        "move alias",
    ]
    assert invoke(dev, "echo_push", {"prompt": "hi"}).json()["output"]["echo"] == "hi"

    set_body(agent, '{"echo": str(payload.get("prompt")).upper(), "changed": True}')
    second = agent_json(dev, "push", str(agent))
    assert (second["created"], second["version"]) == (True, 2)
    answer = invoke(dev, "echo_push", {"prompt": "hi"}).json()
    assert answer["output"] == {"echo": "HI", "changed": True}
    assert answer["version"] == 2

    again = agent_json(dev, "push", str(agent))
    assert (again["created"], again["version"]) == (False, 2)
    versions = agent_json(dev, "versions", "echo_push")
    assert [v["number"] for v in versions["items"]] == [1, 2]

    # Done when 2: one command, and new sessions get the previous behaviour.
    rolled = agent_json(dev, "rollback", "echo_push")
    assert rolled["version"] == 1
    answer = invoke(dev, "echo_push", {"prompt": "hi"}).json()
    assert answer["output"]["echo"] == "hi"
    assert answer["version"] == 1
    moves = [(a, d["from"], d["to"]) for a, d in audit_actions(dev, "echo_push") if "to" in d]
    assert moves[-1] == ("registry.alias.rollback", {"version": 2}, {"version": 1})

    # A rerun of the same push (a CI retry) must not undo the rollback.
    rerun = agent_json(dev, "push", str(agent))
    assert (rerun["created"], rerun["version"]) == (False, 2)
    assert rerun["steps"][-1]["status"] == "skipped"
    assert alias_of(dev, "echo_push")["version"] == 1
    assert invoke(dev, "echo_push", {"prompt": "hi"}).json()["version"] == 1


# Done when 3 ----------------------------------------------------------------------------

FLAKY = """{"echo": payload.get("prompt"), "flaky": _flaky()}

CALLS = [0]


def _flaky() -> bool:
    CALLS[0] += 1
    if CALLS[0] % 2 == 0:
        raise RuntimeError("every second call fails")
    return True"""


def _drive_until(dev: Stack, name: str, done: Any, timeout_s: float = 40) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    with dev.client(dev.acme_key) as client:
        while time.monotonic() < deadline:
            for _ in range(4):
                client.post(f"/v1/agents/{name}/invoke", json={"input": {"prompt": "x"}})
            state = alias_of(dev, name)
            if done(state):
                return state
    raise AssertionError(f"canary of {name} was not decided in {timeout_s}s")


def test_failing_canary_rolls_back_by_itself(dev: Stack, tmp_path: Path) -> None:
    agent = make_agent(tmp_path, "canary_bad")
    agent_json(dev, "push", str(agent))
    set_body(agent, FLAKY)
    pushed = agent_json(dev, "push", str(agent), "--canary", "50")
    assert pushed["route"] == pushed["route"] | {"version": 1, "canary_version": 2}

    state = _drive_until(dev, "canary_bad", lambda s: s["canary_version"] is None)
    assert state["version"] == 1
    decided = [d for a, d in audit_actions(dev, "canary_bad") if a == "registry.canary.rolled_back"]
    assert decided
    assert decided[0]["reason"]["rule"] == "error_rate"
    assert decided[0]["from"] == {"version": 1, "canary": 2, "weight": 50}
    scrape = httpx.get(f"{dev.url}/metrics", timeout=30).text
    assert 'agentry_canary_decisions_total{decision="rolled_back"}' in scrape  # once labelled
    assert invoke(dev, "canary_bad", {"prompt": "y"}).json()["version"] == 1


def test_healthy_canary_is_promoted_after_its_window(dev: Stack, tmp_path: Path) -> None:
    agent = make_agent(tmp_path, "canary_ok")
    agent_json(dev, "push", str(agent))
    set_body(agent, '{"echo": payload.get("prompt"), "v": 2}')
    agent_json(dev, "push", str(agent), "--canary", "50")
    with dev.client(dev.acme_key) as client:
        # A client session stays on the version it started on while the canary runs.
        first = client.post(
            "/v1/agents/canary_ok/invoke", json={"input": {}, "session_id": "s" * 40}
        ).json()
        for _ in range(3):
            again = client.post(
                "/v1/agents/canary_ok/invoke", json={"input": {}, "session_id": "s" * 40}
            ).json()
            assert again["version"] == first["version"]
    state = _drive_until(dev, "canary_ok", lambda s: s["canary_version"] is None)
    assert state["version"] == 2
    actions = [a for a, _ in audit_actions(dev, "canary_ok")]
    assert "registry.canary.promoted" in actions
    assert "registry.canary.rolled_back" not in actions


# Done when 4 ----------------------------------------------------------------------------


def test_health_gate_refuses_crash_on_start_and_failing_golden(dev: Stack, tmp_path: Path) -> None:
    agent = make_agent(tmp_path, "gated")
    agent_json(dev, "push", str(agent))

    main = agent / "main.py"
    good = main.read_text()
    main.write_text(
        good.replace("app = BedrockAgentCoreApp()", 'raise SystemExit("boom at start")')
    )
    crashed = agent_json(dev, "push", str(agent), code=1)
    assert crashed["error"]["code"] == "health_gate_failed"
    assert "boom at start" in crashed["error"]["detail"]  # the session's last log lines
    assert alias_of(dev, "gated")["version"] == 1

    main.write_text(good)
    (agent / "agent.toml").write_text(
        (agent / "agent.toml").read_text()
        + '\n[[golden]]\nname = "greets"\ninput = { prompt = "hi" }\nexpect = { echo = "hello" }\n'
    )
    golden = agent_json(dev, "push", str(agent), code=1)
    assert golden["error"]["code"] == "health_gate_failed"
    assert 'output.echo: expected "hello", got "hi"' in golden["error"]["detail"]
    assert alias_of(dev, "gated")["version"] == 1
    assert invoke(dev, "gated", {"prompt": "x"}).json()["version"] == 1

    (agent / "agent.toml").write_text(
        (agent / "agent.toml").read_text().replace('"main:app"', '"missing:app"')
    )
    missing = agent_json(dev, "push", str(agent), code=1)
    assert missing["error"]["code"] == "invalid_package"
    assert "missing.py" in missing["error"]["detail"]


def test_broken_manifest_exits_2_naming_the_field(dev: Stack, tmp_path: Path) -> None:
    agent = make_agent(tmp_path, "broken", limits="{ job_deadline_s = 90000 }")
    result = agent_cli(dev, "push", str(agent))
    assert result.returncode == 2
    assert "limits.job_deadline_s" in result.stderr
    assert "agent.toml:" in result.stderr


# Done when 5 ----------------------------------------------------------------------------


def _zip(members: dict[str, bytes], links: dict[str, str] | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
        for name, target in (links or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = 0o120777 << 16
            zf.writestr(info, target)
    return buf.getvalue()


def _upload(stack: Stack, key: str, data: bytes, digest: str | None = None) -> httpx.Response:
    with stack.client(key) as client:
        return client.post(
            "/v1/registry/agents/evil/versions",
            content=data,
            headers={"X-Agentry-Digest": digest or packaging.digest(data)},
        )


def test_bad_uploads_are_refused(dev: Stack, tmp_path: Path) -> None:
    manifest = b'name = "evil"\n'
    good = _zip({"agent.toml": manifest, "main.py": b"x = 1\n"})
    tampered = _upload(dev, dev.developer_key, good, packaging.digest(good + b"x"))
    assert (tampered.status_code, tampered.json()["code"]) == (400, "digest_mismatch")

    slip = _upload(dev, dev.developer_key, _zip({"agent.toml": manifest, "../evil.py": b""}))
    assert (slip.status_code, slip.json()["code"]) == (400, "invalid_package")
    assert "evil.py" in slip.json()["detail"]

    link = _upload(
        dev, dev.developer_key, _zip({"agent.toml": manifest}, {"main.py": "/etc/passwd"})
    )
    assert (link.status_code, link.json()["code"]) == (400, "invalid_package")
    assert "symlink" in link.json()["detail"]

    # The CLI refuses a directory whose symlink leaves it, before uploading anything.
    agent = make_agent(tmp_path, "linked")
    (agent / "secrets.txt").symlink_to("/etc/passwd")
    result = agent_cli(dev, "push", str(agent))
    assert result.returncode == 2
    assert "symlink points outside" in result.stderr

    # Over 250 MB: refused from the declared length, before the body is read.
    url = urlparse(dev.url)
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        sock.sendall(
            b"POST /v1/registry/agents/evil/versions HTTP/1.1\r\nHost: x\r\n"
            + f"Authorization: Bearer {dev.developer_key}\r\n".encode()
            + f"Content-Length: {packaging.MAX_ARTIFACT_BYTES + 10**6}\r\n\r\n".encode()
        )
        head = sock.recv(4096).decode()
    assert head.startswith("HTTP/1.1 413")

    # Tenants (not developers) may not use the registry at all.
    denied = _upload(dev, dev.acme_key, good)
    assert (denied.status_code, denied.json()["code"]) == (403, "insufficient_scope")
    with dev.client(dev.globex_key) as client:
        assert client.get("/v1/registry/agents").status_code == 403
    assert agent_json(dev, "versions", "evil", code=1)["error"]["code"] == "agent_not_found"


def test_create_agent_over_the_api(dev: Stack) -> None:
    with dev.client(dev.developer_key) as client:
        created = client.post("/v1/registry/agents", json={"name": "made", "description": "d"})
        assert created.status_code == 201
        assert created.json() == created.json() | {"name": "made", "versions": [], "aliases": []}
        assert client.post("/v1/registry/agents", json={"name": "made"}).status_code == 200
        bad = client.post("/v1/registry/agents", json={"name": "Bad-Name"})
        assert (bad.status_code, bad.json()["code"]) == (400, "invalid_agent_name")
    with dev.client(dev.acme_key) as client:
        assert client.post("/v1/registry/agents", json={"name": "x"}).status_code == 403


# Done when 6 (with the tests above: push, versions, rollback) -------------------------------


def test_every_agent_command_speaks_json(dev: Stack, tmp_path: Path) -> None:
    target = tmp_path / "fresh"
    made = agent_json(dev, "init", "fresh", "--dir", str(target))
    assert made["files"] == ["agent.toml", "main.py"]
    pushed = agent_json(dev, "push", str(target))
    assert pushed["route"]["version"] == 1
    out = agent_json(dev, "invoke", "fresh", '{"prompt": "hey"}')
    assert out["output"]["echo"] == "hey"
    set_body(target, '{"echo": payload.get("prompt"), "v": 2}')
    agent_json(dev, "push", str(target))
    promoted = agent_json(dev, "promote", "fresh", "1")
    assert promoted["alias"]["version"] == 1
    assert [g["version"] for g in promoted["gates"]] == [1]
    logs = agent_json(dev, "logs", "fresh")
    assert logs["files"]
    assert "session start" in logs["text"]
    one = logs["files"][-1].removesuffix(".log")
    only = agent_json(dev, "logs", "fresh", "--session", one)
    assert only["files"] == [f"{one}.log"]
    bad = agent_json(dev, "invoke", "fresh", "{not json", code=2)
    assert bad["error"]["code"] == "invalid_json"


# Per-version environments ---------------------------------------------------------------


def _tiny_wheel(directory: Path) -> Path:
    """A pure-Python wheel built here, so the install needs no network."""
    path = directory / "agentry_tinydep-0.1-py3-none-any.whl"
    files = {
        "agentry_tinydep/__init__.py": "VALUE = 'from-the-layer'\n",
        "agentry_tinydep-0.1.dist-info/METADATA": (
            "Metadata-Version: 2.1\nName: agentry-tinydep\nVersion: 0.1\n"
        ),
        "agentry_tinydep-0.1.dist-info/WHEEL": (
            "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    record = "".join(f"{name},,\n" for name in files) + "agentry_tinydep-0.1.dist-info/RECORD,,\n"
    with zipfile.ZipFile(path, "w") as zf:
        for name, text in files.items():
            zf.writestr(name, text)
        zf.writestr("agentry_tinydep-0.1.dist-info/RECORD", record)
    return path


def test_dependency_layer_is_built_once_and_reused(dev: Stack, tmp_path: Path) -> None:
    if _uv() is None:
        pytest.skip("uv is not installed")
    wheel = _tiny_wheel(tmp_path)
    agent = make_agent(
        tmp_path,
        "with_deps",
        '{"dep": __import__("agentry_tinydep").VALUE}',
    )
    toml = (
        (agent / "agent.toml")
        .read_text()
        .replace("requirements = []", f'requirements = ["agentry-tinydep @ {wheel.as_uri()}"]')
    )
    (agent / "agent.toml").write_text(toml)
    first = agent_json(dev, "push", str(agent))
    build = next(s for s in first["steps"] if s["step"] == "build environment")
    assert "built" in build["note"]
    assert invoke(dev, "with_deps", {}).json()["output"] == {"dep": "from-the-layer"}

    set_body(agent, '{"dep": __import__("agentry_tinydep").VALUE, "v": 2}')
    second = agent_json(dev, "push", str(agent))
    build = next(s for s in second["steps"] if s["step"] == "build environment")
    assert "reused, no install" in build["note"]
    assert build["ms"] == 0
    assert invoke(dev, "with_deps", {}).json()["output"] == {"dep": "from-the-layer", "v": 2}

    broken = make_agent(tmp_path, "bad_deps")
    (broken / "agent.toml").write_text(
        (broken / "agent.toml")
        .read_text()
        .replace("requirements = []", f'requirements = ["nope @ {(tmp_path / "no.whl").as_uri()}"]')
    )
    failed = agent_json(dev, "push", str(broken), code=1)
    assert failed["error"]["code"] == "dependency_build_failed"
    assert "no.whl" in failed["error"]["detail"]  # the build log's tail


def test_cli_runs_as_module() -> None:
    # Sanity for the subprocess tests above: the CLI group is mounted.
    result = subprocess.run(
        [sys.executable, "-m", "agentry.cli.main", "agent", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    for command in ("init", "push", "versions", "promote", "rollback", "logs", "invoke"):
        assert command in result.stdout

"""The session host's pieces: entry points, app discovery, zip extraction, session guard."""

from __future__ import annotations

import io
import stat
import zipfile
from pathlib import Path

import httpx
import pytest
from bedrock_agentcore import BedrockAgentCoreApp

from agentry.runtime.base import SESSION_HEADER
from agentry.runtime.emulator.host import (
    MISMATCH_HEADER,
    SessionGuard,
    entry_file,
    find_app,
    load_entry_module,
)
from agentry.runtime.emulator.store import ZipSlipError, safe_extract


def test_entry_file_skips_the_otel_wrapper() -> None:
    assert entry_file(["main.py"]) == "main.py"
    assert entry_file(["opentelemetry-instrument", "agent.py"]) == "agent.py"
    with pytest.raises(ValueError, match="empty"):
        entry_file(["opentelemetry-instrument"])


def test_find_app(tmp_path: Path) -> None:
    (tmp_path / "agent_mod_a.py").write_text(
        "from bedrock_agentcore import BedrockAgentCoreApp\n"
        "helper = 1\nfirst = BedrockAgentCoreApp()\nsecond = BedrockAgentCoreApp()\n"
    )
    module = load_entry_module("agent_mod_a.py", tmp_path)
    assert find_app(module) is module.first
    assert find_app(module, "second") is module.second
    with pytest.raises(LookupError):
        find_app(module, "missing")
    (tmp_path / "agent_mod_b.py").write_text("x = 1\n")
    with pytest.raises(LookupError):
        find_app(load_entry_module("agent_mod_b.py", tmp_path))
    with pytest.raises(FileNotFoundError):
        load_entry_module("nope.py", tmp_path)


def _zip(*names: str, symlink: str | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name in names:
            zf.writestr(name, "x = 1\n")
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, "/etc/passwd")
    return buffer.getvalue()


@pytest.mark.parametrize(
    "archive",
    [
        _zip("main.py", "../evil.py"),
        _zip("main.py", "/abs/evil.py"),
        _zip("main.py", "pkg/../../evil.py"),
        _zip("main.py", symlink="link.py"),
    ],
)
def test_safe_extract_refuses_escapes(tmp_path: Path, archive: bytes) -> None:
    src = tmp_path / "code.zip"
    src.write_bytes(archive)
    dest = tmp_path / "out" / "1"
    dest.parent.mkdir()
    with pytest.raises(ZipSlipError):
        safe_extract(src, dest)
    assert not dest.exists()
    assert [p.name for p in (tmp_path / "out").iterdir()] == []


def test_safe_extract_ok(tmp_path: Path) -> None:
    src = tmp_path / "code.zip"
    src.write_bytes(_zip("main.py", "pkg/__init__.py"))
    dest = tmp_path / "out"
    safe_extract(src, dest)
    assert (dest / "main.py").is_file()
    assert (dest / "pkg" / "__init__.py").is_file()


async def test_session_guard() -> None:
    app = BedrockAgentCoreApp()

    @app.entrypoint
    def invoke(payload: dict[str, object]) -> dict[str, object]:
        return {"ok": bool(payload) or True}

    sid = "a" * 40
    transport = httpx.ASGITransport(app=SessionGuard(app, sid))
    async with httpx.AsyncClient(transport=transport, base_url="http://agent") as client:
        ok = await client.post("/invocations", json={}, headers={SESSION_HEADER: sid})
        assert ok.json() == {"ok": True}
        wrong = await client.post("/invocations", json={}, headers={SESSION_HEADER: "b" * 40})
        assert wrong.status_code == 409
        assert wrong.headers[MISMATCH_HEADER] == "1"
        assert (await client.get("/ping")).status_code == 200

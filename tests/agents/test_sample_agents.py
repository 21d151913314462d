"""The sample agents validate their input and answer a clean 400, never an exception's text
(finding 5). Each agent's real SDK app is called over ASGI, as the runtime would over HTTP."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

AGENTS = Path(__file__).resolve().parents[2] / "agents"
LEAKS = ("Traceback", "NoneType", "object has no attribute", "recursion", "Error:")


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"sample_{name}", AGENTS / name / "main.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def _invoke(name: str, body: bytes) -> httpx.Response:
    app = _load(name).app
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://agent") as c:
        return await c.post(
            "/invocations", content=body, headers={"content-type": "application/json"}
        )


def _nested(depth: int) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = [value]
    return value


BAD: list[tuple[str, Any]] = [
    ("echo", None),
    ("echo", [1, 2, 3]),
    ("echo", "text"),
    ("echo", {"prompt": {"not": "a string"}}),
    ("echo", {"sleep": "soon"}),
    ("echo", {"sleep": 1e9}),
    ("echo", {"busy": -1}),
    ("echo", {"deep": _nested(40)}),
    ("longrun", None),
    ("longrun", {"steps": "many"}),
    ("longrun", {"steps": 0}),
    ("longrun", {"steps": 10**9}),
    ("longrun", {"steps": 2, "step_s": "slow"}),
    ("longrun", {"duration_s": -5}),
    ("concierge", None),
    ("concierge", {"prompt": "hi"}),  # no `_agentry` context: not called through the platform
]


@pytest.mark.parametrize(("agent", "payload"), BAD)
async def test_bad_input_is_a_400_with_a_message(agent: str, payload: Any) -> None:
    r = await _invoke(agent, json.dumps(payload).encode())
    assert r.status_code == 400, r.text
    message = r.json()["error"]
    assert isinstance(message, str)
    assert message
    assert not any(leak in r.text for leak in LEAKS), r.text


@pytest.mark.parametrize(
    ("agent", "payload", "key"),
    [("echo", {"prompt": "hi"}, "echo"), ("longrun", {"steps": 1, "step_s": 0}, "steps")],
)
async def test_good_input_still_works(agent: str, payload: Any, key: str) -> None:
    r = await _invoke(agent, json.dumps(payload).encode())
    assert r.status_code == 200, r.text
    assert key in r.json()

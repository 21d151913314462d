"""The OpenAPI document: `/docs` can authorize every protected call, one header spelling."""

from __future__ import annotations

from typing import Any

import pytest

from agentry.app import create_app
from agentry.config import Settings

PUBLIC = ("/healthz", "/readyz", "/metrics", "/.well-known/", "/dev-idp/")


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    document: dict[str, Any] = create_app(Settings(profile="local"), migrate=False).openapi()
    return document


def _operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, op)
        for path, ops in spec["paths"].items()
        for method, op in ops.items()
        if isinstance(op, dict) and "responses" in op
    ]


def test_every_protected_operation_names_its_security_scheme(spec: dict[str, Any]) -> None:
    schemes = spec["components"]["securitySchemes"]
    assert {s["scheme"] for s in schemes.values()} == {"bearer"}
    missing = [
        f"{method.upper()} {path}"
        for method, path, op in _operations(spec)
        if not path.startswith(PUBLIC) and not op.get("security")
    ]
    assert missing == []
    agent_calls = {
        next(iter(op["security"][0]))
        for _m, path, op in _operations(spec)
        if path.startswith("/agent/")
    }
    assert agent_calls == {"invocationToken"}
    assert all("security" not in op for _m, path, op in _operations(spec) if path == "/healthz")


def test_idempotency_key_has_one_spelling(spec: dict[str, Any]) -> None:
    spellings = {
        param["name"]
        for _m, _p, op in _operations(spec)
        for param in op.get("parameters", [])
        if param["in"] == "header" and param["name"].lower().replace("_", "-") == "idempotency-key"
    }
    assert spellings == {"Idempotency-Key"}
    jobs = spec["paths"]["/v1/agents/{agent}/jobs"]["post"]
    assert "Idempotency-Key" in {p["name"] for p in jobs["parameters"]}

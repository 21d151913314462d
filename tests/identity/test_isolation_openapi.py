"""Two-tenant isolation generated from the OpenAPI document.

For every operation with a path id, objects are created as tenant A (acme) and the operation
is called as tenant B (globex) with A's ids: the answer must be 404, and nothing of A's may
show in it. Operations come from the served document, so a new route is covered as soon as
it exists. A path parameter this file cannot make an object for fails the test, listing the
route, unless `EXCLUDED` names it with a reason.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from agentry.testing.openapi import Operation, operations
from agentry.testing.stack import Stack
from tests.factories import agent_token, stack_signer

pytestmark = pytest.mark.e2e

# Parameters that name no tenant's object, or routes whose ids are not tenant-scoped.
EXCLUDED_PARAMS: dict[str, str] = {
    "agent": "agents are platform-owned and shared: every tenant may invoke them",
    "alias": "an alias belongs to a platform-owned agent",
    "tool": "tools are platform-owned (operator route)",
    "target": "tool targets are platform-owned (operator route)",
    "policy_version": "a version number is looked up in the caller's own policy set only "
    "(tests/policy/test_endpoints.py checks two tenants); numbers are not secret ids",
    "listing_id": "marketplace listings are a platform-wide catalogue; withdrawing another "
    "tenant's listing answers 404 (tests/marketplace/test_marketplace_e2e.py)",
    "month": "a month names no object: a statement is always the caller's own "
    "(tests/billing/test_endpoints.py checks two tenants' statements)",
}
EXCLUDED_PREFIXES: dict[str, str] = {
    "/v1/admin/": "operator routes act across tenants by design; a tenant gets 403 there "
    "(tests/identity/test_isolation.py checks that)",
}


def _stream_invocation(c: httpx.Client) -> str:
    text = c.post("/v1/agents/echo/stream", json={"input": {"prompt": "isolation"}}).text
    first = next(line[5:] for line in text.splitlines() if line.startswith("data:"))
    return str(json.loads(first)["invocation_id"])


# How tenant A makes an object for each kind of path id.
CREATORS: dict[str, Callable[[httpx.Client], str]] = {
    "key_id": lambda c: c.post("/v1/api-keys", json={"name": "iso-a"}).json()["id"],
    "endpoint_id": lambda c: c.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/a"}).json()[
        "id"
    ],
    "job_id": lambda c: c.post("/v1/agents/echo/jobs", json={"input": {"prompt": "a"}}).json()[
        "id"
    ],
    "invocation_id": _stream_invocation,
    "member_id": lambda c: c.post(
        "/v1/members", json={"email": f"iso-{uuid.uuid4().hex[:8]}@a.example"}
    ).json()["id"],
}
# Bodies that pass validation, so the answer is about the object and not the body.
BODIES: dict[str, Any] = {
    "POST /agent/v1/jobs/{job_id}/progress": {"step": 1, "total": 2},
    "POST /agent/v1/jobs/{job_id}/checkpoint": {"checkpoint": {"step": 1}},
    "POST /agent/v1/jobs/{job_id}/result": {"result": {"ok": True}},
    "POST /agent/v1/jobs/{job_id}/fail": {"message": "x"},
    "POST /v1/api-keys/{key_id}/rotate": {"old_key_expires_in_s": 0},
    "PATCH /v1/members/{member_id}": {"role": "admin"},
}


def classify(ops: list[Operation]) -> tuple[list[Operation], list[str]]:
    """(operations to probe, operations with an id nobody knows how to create)."""
    probe, unknown = [], []
    for op in ops:
        params = op.path_params
        if not params or any(op.path.startswith(p) for p in EXCLUDED_PREFIXES):
            continue
        ids = [p for p in params if p not in EXCLUDED_PARAMS]
        if not ids:
            continue
        missing = [p for p in ids if p not in CREATORS]
        if missing:
            unknown.append(f"{op.key}: no creator for {{{', '.join(missing)}}}")
        else:
            probe.append(op)
    return probe, unknown


def test_classify_fails_on_an_id_it_cannot_create() -> None:
    """A new route with a new kind of id is listed, not skipped."""
    new = Operation("get", "/v1/widgets/{widget_id}", {"parameters": [_path("widget_id")]})
    known = Operation("get", "/v1/jobs/{job_id}", {"parameters": [_path("job_id")]})
    shared = Operation("post", "/v1/agents/{agent}/invoke", {"parameters": [_path("agent")]})
    probe, unknown = classify([new, known, shared])
    assert probe == [known]
    assert unknown == ["GET /v1/widgets/{widget_id}: no creator for {widget_id}"]


def _path(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


@pytest.fixture(scope="module")
def document(stack: Stack) -> dict[str, Any]:
    doc: dict[str, Any] = httpx.get(f"{stack.url}/openapi.json", timeout=30).json()
    return doc


@pytest.fixture(scope="module")
def acme_objects(stack: Stack) -> Iterator[dict[str, str]]:
    with stack.client(stack.acme_key) as c:
        made = {name: create(c) for name, create in CREATORS.items()}
    yield made
    with stack.client(stack.acme_key) as c:
        c.delete(f"/v1/webhooks/{made['endpoint_id']}")
        c.delete(f"/v1/api-keys/{made['key_id']}")


def _globex_agent_token(stack: Stack) -> str:
    """An invocation token of globex's, as its agent would hold one (same signing key)."""
    with stack.client(stack.globex_key) as c:
        tenant_id = c.get("/v1/me").json()["tenant_id"]
    return agent_token(
        stack_signer(stack),
        tenant_id=tenant_id,
        tier="premium",
        agent="longrun",
        invocation_id="job_globexprobe",
        session_id="probe",
        scopes=("jobs",),
    )


def test_every_route_with_an_id_hides_other_tenants_objects(
    stack: Stack, document: dict[str, Any], acme_objects: dict[str, str]
) -> None:
    probe, unknown = classify(list(operations(document)))
    assert unknown == [], "routes with ids this suite cannot create:\n" + "\n".join(unknown)
    assert len(probe) >= 10
    agent_token = _globex_agent_token(stack)
    wrong: list[str] = []
    for op in probe:
        url = op.path
        for name in op.path_params:
            url = url.replace(f"{{{name}}}", acme_objects.get(name, "echo"))
        credential = agent_token if op.path.startswith("/agent/") else stack.globex_key
        with stack.client(credential) as c:
            body = BODIES.get(op.key, {} if op.method in ("post", "put", "patch") else None)
            r = c.request(op.method.upper(), url, json=body)
        leaked = [v for v in acme_objects.values() if v in r.text]
        if r.status_code != 404:
            wrong.append(f"{op.key} -> {r.status_code} {r.text[:200]}")
        elif leaked:
            wrong.append(f"{op.key} -> 404 but the body names {leaked}")
    assert wrong == [], "\n".join(wrong)
    # Still there for acme: the probes changed nothing.
    with stack.client(stack.acme_key) as c:
        assert c.get(f"/v1/jobs/{acme_objects['job_id']}").status_code == 200
        keys = {k["id"]: k for k in c.get("/v1/api-keys").json()["items"]}
    assert keys[acme_objects["key_id"]]["revoked_at"] is None

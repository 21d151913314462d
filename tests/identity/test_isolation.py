"""Tenant isolation (Done-when 1): every tenant-facing route, called with acme's credential and
globex's ids, answers 404 (403 for role checks) and shows no globex data.

Routes come from the app itself, so a new endpoint is checked without editing this file; a
path parameter this file cannot fill fails the test instead of being skipped.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from agentry.app import create_app
from agentry.billing.months import Month
from agentry.config import Settings
from agentry.identity.auth import authenticate
from agentry.kit.routes import RouteInfo, iter_routes
from agentry.testing import devidp_client as idp
from agentry.testing.stack import Stack

pytestmark = pytest.mark.e2e

# Path parameters naming platform-owned things (agents are shared; any tenant may invoke them).
SHARED_PARAMS = {
    "agent": "echo",
    "alias": "live",
    "tool": "utility___now",
    "target": "ext",
    "month": str(Month.current()),  # a statement is always the caller's own
}
BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/v1/api-keys"): {"name": "isolation probe"},
    ("POST", "/v1/agents/{agent}/invoke"): {"input": {"prompt": "isolation"}},
    ("POST", "/v1/admin/tenants"): {"slug": "iso-probe", "name": "x"},
}


def tenant_facing_routes() -> list[RouteInfo]:
    app = create_app(Settings(profile="local"), migrate=False)
    return [r for r in iter_routes(app) if r.depends_on(authenticate)]


@pytest.fixture(scope="module")
def globex(stack: Stack) -> Iterator[dict[str, Any]]:
    """Globex's ids and secrets-free identifiers that must never show up for acme."""
    with stack.client(stack.globex_key) as c:
        created = c.post("/v1/api-keys", json={"name": "globex-private"}).json()
        keys = c.get("/v1/api-keys").json()["items"]
        me = c.get("/v1/me").json()
        job = c.post("/v1/agents/echo/jobs", json={"input": {"prompt": "globex"}}).json()
        hook = c.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/globex"}).json()
        stream = c.post("/v1/agents/echo/stream", json={"input": {"prompt": "globex"}}).text
        member = c.post(
            "/v1/members", json={"email": f"globex-{uuid.uuid4().hex[:8]}@globex.example"}
        ).json()
    invocation_id = json.loads(
        next(line[5:] for line in stream.splitlines() if line.startswith("data:"))
    )["invocation_id"]
    ids = {
        "job_id": job["id"],
        "endpoint_id": hook["id"],
        "invocation_id": invocation_id,
        "member_id": member["id"],
    }
    yield {
        "tenant_id": me["tenant_id"],
        "key_id": created["id"],
        "delivery_id": "whd_00000000000000000000000000000000",  # operator-only route
        **ids,
        "markers": [me["tenant_id"], "globex-private", *(k["id"] for k in keys), *ids.values()],
        "keys": keys,
    }
    with stack.client(stack.globex_key) as c:  # the shared stack's other tests own the rest
        c.delete(f"/v1/webhooks/{hook['id']}")


def _fill(route: RouteInfo, globex: dict[str, Any]) -> tuple[str, bool]:
    """The route's URL with globex's ids; True when it names a globex object."""
    names_object = False

    def sub(m: re.Match[str]) -> str:
        nonlocal names_object
        name = m.group(1)
        if name in SHARED_PARAMS:
            return SHARED_PARAMS[name]
        if name not in globex:
            pytest.fail(f"{route.path}: no globex id for '{{{name}}}'; add it to the fixture")
        names_object = True
        return str(globex[name])

    return re.sub(r"\{(\w+)(?::\w+)?\}", sub, route.path), names_object


@pytest.mark.parametrize("credential", ["api_key", "entra_token"])
def test_acme_cannot_reach_globex_through_any_route(
    stack: Stack, globex: dict[str, Any], credential: str
) -> None:
    acme = stack.acme_key if credential == "api_key" else idp.sign_in(stack.url, "ada@acme")
    routes = tenant_facing_routes()
    assert len(routes) >= 10
    checked, wrong = [], []
    with stack.client(acme) as c:
        for route in routes:
            url, names_object = _fill(route, globex)
            for method in sorted(route.methods - {"HEAD", "OPTIONS"}):
                body = BODIES.get((method, route.path), {} if method in ("POST", "PATCH") else None)
                r = c.request(method, url, json=body)
                checked.append(f"{method} {route.path}")
                leaked = [m for m in globex["markers"] if m in r.text]
                admin = route.path.startswith("/v1/admin")
                if admin and r.status_code != 403:
                    wrong.append((method, url, r.status_code, "operator route not 403"))
                elif names_object and r.status_code not in (403, 404):
                    wrong.append((method, url, r.status_code, "other tenant's object reached"))
                elif r.status_code >= 500:
                    wrong.append((method, url, r.status_code, r.text[:200]))
                if leaked:
                    wrong.append((method, url, r.status_code, f"leaked {leaked}"))
    assert wrong == [], "\n".join(map(str, wrong))
    assert "DELETE /v1/api-keys/{key_id}" in checked

    with stack.client(stack.globex_key) as c:  # nothing of globex's changed
        after = {k["id"]: k for k in c.get("/v1/api-keys").json()["items"]}
    probe = after[globex["key_id"]]
    assert probe["revoked_at"] is None
    assert probe["expires_at"] is None

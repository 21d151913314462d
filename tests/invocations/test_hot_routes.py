"""The hot routes (invocations/hot.py, served by kit/hot.py ahead of FastAPI's middleware
stack) answer exactly as the FastAPI declarations they stand in front of: every request
below is sent to the app as built and to the same app with the hot routes switched off, and
the answers must agree."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.routing import Match

from agentry.identity.principal import Role, Scope
from agentry.invocations.hot import HotRoute
from agentry.testing.inproc import InProcApp


def _hot(api: InProcApp) -> list[HotRoute]:
    assert api.app.hot is not None
    return api.app.hot.routes


def test_hot_routes_match_only_posts_with_a_valid_agent_name() -> None:
    from agentry.invocations.hot import hot_routes

    invoke, stream = hot_routes()

    def scope(method: str, path: str) -> dict[str, Any]:
        return {"type": "http", "method": method, "path": path}

    match, child = invoke.matches(scope("POST", "/v1/agents/echo_2/invoke"))
    assert match is Match.FULL
    assert child["path_params"] == {"agent": "echo_2"}
    assert child["route"].path == "/v1/agents/{agent}/invoke"  # the metrics/log label
    assert stream.matches(scope("POST", "/v1/agents/echo/stream"))[0] is Match.FULL
    for method, path in [
        ("GET", "/v1/agents/echo/invoke"),  # 405 comes from FastAPI's route
        ("POST", "/v1/agents/Echo/invoke"),  # 422 from its path pattern
        ("POST", "/v1/agents/" + "a" * 49 + "/invoke"),
        ("POST", "/v1/agents/echo/invoke/x"),
        ("POST", "/v1/agents/echo/stream"),
    ]:
        assert invoke.matches(scope(method, path))[0] is Match.NONE, (method, path)


async def test_hot_routes_are_served_first_and_the_openapi_document_keeps_the_routes(
    api: InProcApp,
) -> None:
    assert [r.path for r in _hot(api)] == [
        "/v1/agents/{agent}/invoke",
        "/v1/agents/{agent}/stream",
        "/v1/agents/{agent}/jobs",
    ]
    assert not any(isinstance(r, HotRoute) for r in api.app.router.routes)
    async with api.client() as c:
        doc = (await c.get("/openapi.json")).json()
    assert "post" in doc["paths"]["/v1/agents/{agent}/invoke"]
    assert "post" in doc["paths"]["/v1/agents/{agent}/stream"]


async def _answers(api: InProcApp, calls: list[tuple[str, str, dict[str, Any]]]) -> list[Any]:
    out = []
    async with api.client() as c:
        for method, path, kw in calls:
            r = await c.request(method, path, **kw)
            body = r.json() if r.headers.get("content-type", "").endswith("json") else r.text
            if isinstance(body, dict):
                body.pop("request_id", None)
                body.pop("invocation_id", None)
            headers = {k: r.headers.get(k) for k in ("www-authenticate", "allow", "retry-after")}
            out.append((r.status_code, r.headers.get("content-type"), body, headers))
    return out


async def test_every_answer_is_the_fastapi_routes_answer(api: InProcApp) -> None:
    tenant = await api.tenant("acme")
    key = (await api.key(tenant, Role.admin)).secret
    no_invoke = (await api.key(tenant, Role.admin, scopes=frozenset({Scope.usage_read}))).secret

    def auth(secret: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {secret}"}

    body = {"input": {"prompt": "hi"}}
    calls: list[tuple[str, str, dict[str, Any]]] = []
    for kind in ("invoke", "stream"):
        path = f"/v1/agents/echo/{kind}"
        calls += [
            ("POST", path, {"json": body}),  # no credentials
            ("POST", path, {"json": body, "headers": auth("agy_" + "x" * 38)}),  # unknown key
            ("POST", path, {"json": body, "headers": {"Authorization": "Basic abc"}}),
            ("POST", path, {"json": body, "headers": auth(no_invoke)}),  # lacks `invoke`
            ("POST", path, {"json": body, "headers": auth(key)}),  # no such agent
            ("POST", path, {"json": {"inputs": 1}, "headers": auth(key)}),  # bad body
            ("POST", path, {"json": {"input": {}, "alias": 3}, "headers": auth(key)}),
            (
                "POST",
                path,
                {"content": b"[1,", "headers": {**auth(key), "Content-Type": "application/json"}},
            ),
            ("POST", path, {"json": body, "headers": {**auth(key), "Idempotency-Key": ""}}),
            ("POST", path, {"json": body, "headers": {**auth(key), "Idempotency-Key": "a b\x7f"}}),
            ("POST", f"/v1/agents/Bad-Name/{kind}", {"json": body, "headers": auth(key)}),
            ("GET", path, {"headers": auth(key)}),
        ]
    calls.append(
        (
            "POST",
            "/v1/agents/echo/stream",
            {"json": body, "headers": {**auth(key), "Last-Event-ID": "x"}},
        )
    )
    hot = await _answers(api, calls)
    assert api.app.hot is not None
    api.app.hot.enabled = False
    try:
        plain = await _answers(api, calls)
    finally:
        api.app.hot.enabled = True
    statuses = {status for status, *_ in hot}
    assert {401, 403, 404, 405, 422} <= statuses, statuses  # the cases above reach each check
    for call, a, b in zip(calls, hot, plain, strict=True):
        assert a == b, call
    # The denied scope is audited on both paths, with the route template.
    async with api.client(key) as c:
        events = (await c.get("/v1/audit", params={"action": "authz.denied"})).json()
    denied = [e for e in events["items"] if e["action"] == "authz.denied"]
    assert len(denied) == 4
    assert {e["details"]["route"] for e in denied} == {
        "/v1/agents/{agent}/invoke",
        "/v1/agents/{agent}/stream",
    }


@pytest.mark.parametrize("kind", ["invoke", "stream"])
async def test_two_tenants_each_see_only_their_own_agent(api: InProcApp, kind: str) -> None:
    """Tenant scoping through the hot route: another tenant's key gets the same 404 as an
    unknown agent (no agent is registered in this app, so both are 404 here); the
    principal the route builds is the key's tenant, as the access log records."""
    acme = await api.tenant("acme")
    globex = await api.tenant("globex")
    for tenant in (acme, globex):
        secret = (await api.key(tenant, Role.member)).secret
        async with api.client(secret) as c:
            r = await c.post(f"/v1/agents/echo/{kind}", json={"input": {}})
        assert r.status_code == 404, r.text
        assert r.headers["content-type"] == "application/problem+json"

"""The job accept hot route (jobs/hot.py) answers exactly as the FastAPI declaration it stands
in front of: each request goes to the app as built and to the same app without the hot
routes, and the answers must agree (the accepted path itself is covered by every other test
in this directory, which now goes through the hot route)."""

from __future__ import annotations

from typing import Any

from starlette.routing import Match

from agentry.identity.principal import Role, Scope
from agentry.jobs.hot import hot_routes
from agentry.testing.inproc import InProcApp


def test_the_route_matches_only_posts_to_a_valid_agent_name() -> None:
    (route,) = hot_routes()

    def match(method: str, path: str) -> Match:
        return route.matches({"type": "http", "method": method, "path": path})[0]

    assert match("POST", "/v1/agents/echo_2/jobs") is Match.FULL
    assert match("GET", "/v1/agents/echo/jobs") is Match.NONE
    assert match("POST", "/v1/agents/Echo/jobs") is Match.NONE  # 422 from FastAPI's pattern
    assert match("POST", "/v1/agents/echo/jobs/x") is Match.NONE
    assert match("POST", "/v1/agents/echo/invoke") is Match.NONE


async def _answers(api: InProcApp, calls: list[dict[str, Any]]) -> list[Any]:
    out = []
    async with api.client() as c:
        for kw in calls:
            r = await c.request(kw.pop("method", "POST"), kw.pop("path"), **kw)
            body = r.json() if r.headers.get("content-type", "").endswith("json") else r.text
            if isinstance(body, dict):
                body.pop("request_id", None)
            headers = {k: r.headers.get(k) for k in ("www-authenticate", "allow", "retry-after")}
            out.append((r.status_code, r.headers.get("content-type"), body, headers))
    return out


async def test_every_answer_is_the_fastapi_routes_answer(api: InProcApp) -> None:
    tenant = await api.tenant("acme")
    key = (await api.key(tenant, Role.admin)).secret
    no_jobs = (await api.key(tenant, Role.admin, scopes=frozenset({Scope.usage_read}))).secret
    path = "/v1/agents/echo/jobs"
    body = {"input": {"prompt": "hi"}}

    def auth(secret: str, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {secret}", **extra}

    def calls() -> list[dict[str, Any]]:
        return [
            {"path": path, "json": body},  # no credentials
            {"path": path, "json": body, "headers": auth("agy_" + "x" * 38)},  # unknown key
            {"path": path, "json": body, "headers": auth(no_jobs)},  # lacks `jobs`
            {"path": path, "json": body, "headers": auth(key)},  # no such agent
            {"path": path, "json": {"inputs": 1}, "headers": auth(key)},  # bad body
            {"path": path, "json": {"input": {}, "webhook_url": 3}, "headers": auth(key)},
            {"path": path, "content": b"[1,", "headers": auth(key, **{"content-type": "a/json"})},
            {"path": path, "json": body, "headers": auth(key, **{"Idempotency-Key": ""})},
            {"path": path, "json": body, "headers": auth(key, **{"Idempotency-Key": "a b\x7f"})},
            {"path": "/v1/agents/Bad-Name/jobs", "json": body, "headers": auth(key)},
            {"method": "GET", "path": path, "headers": auth(key)},
        ]

    hot = await _answers(api, calls())
    assert api.app.hot is not None
    api.app.hot.enabled = False
    try:
        plain = await _answers(api, calls())
    finally:
        api.app.hot.enabled = True
    assert {401, 403, 404, 405, 422} <= {status for status, *_ in hot}
    for call, a, b in zip(calls(), hot, plain, strict=True):
        assert a == b, call
    async with api.client(key) as c:
        events = (await c.get("/v1/audit", params={"action": "authz.denied"})).json()
    denied = [e for e in events["items"] if e["action"] == "authz.denied"]
    assert len(denied) == 2  # once per path, labelled with the route template
    assert {e["details"]["route"] for e in denied} == {"/v1/agents/{agent}/jobs"}


async def test_two_tenants_each_get_their_own_answer(api: InProcApp) -> None:
    """Tenant scoping through the hot route: each tenant's key is its own principal (no agent
    is registered in this app, so both tenants get the same 404 problem)."""
    for slug in ("acme", "globex"):
        secret = (await api.key(await api.tenant(slug), Role.member)).secret
        async with api.client(secret) as c:
            r = await c.post("/v1/agents/echo/jobs", json={"input": {}})
        assert r.status_code == 404, r.text
        assert r.headers["content-type"] == "application/problem+json"

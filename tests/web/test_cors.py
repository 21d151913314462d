"""CORS: an exact allow-list; never `*`, never credentials; error answers carry the headers."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from agentry.config import Settings
from agentry.testing.inproc import InProcApp, running_app

ALLOWED = "https://app.example.com"


@pytest.fixture
async def cors_api(database_url: str, tmp_path: Path) -> InProcApp:  # type: ignore[misc]
    async with running_app(
        database_url, tmp_path, cors_origins=[ALLOWED, "http://localhost:5173"]
    ) as app:
        yield app


async def test_allowed_origin_gets_its_own_origin_back(cors_api: InProcApp) -> None:
    tenant = await cors_api.tenant("acme")
    key = await cors_api.key(tenant)
    async with cors_api.client(key.secret) as client:
        r = await client.get("/v1/me", headers={"Origin": ALLOWED})
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == ALLOWED
    assert "access-control-allow-credentials" not in r.headers
    exposed = r.headers["access-control-expose-headers"].lower()
    assert "x-invocation-id" in exposed
    assert "location" in exposed


async def test_other_origin_gets_no_cors_headers(cors_api: InProcApp) -> None:
    tenant = await cors_api.tenant("acme")
    key = await cors_api.key(tenant)
    async with cors_api.client(key.secret) as client:
        r = await client.get("/v1/me", headers={"Origin": "https://evil.example.com"})
        pre = await client.options(
            "/v1/agents/echo/stream",
            headers={
                "Origin": "https://app.example.com.evil.example.com",
                "Access-Control-Request-Method": "POST",
            },
        )
    assert "access-control-allow-origin" not in r.headers
    assert pre.status_code == 400
    assert "access-control-allow-origin" not in pre.headers


async def test_preflight_allows_what_the_spa_sends(cors_api: InProcApp) -> None:
    async with cors_api.client() as client:
        r = await client.options(
            "/v1/agents/echo/stream",
            headers={
                "Origin": ALLOWED,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization, content-type, last-event-id",
            },
        )
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == ALLOWED
    allowed = r.headers["access-control-allow-headers"].lower()
    assert {"authorization", "content-type", "last-event-id", "idempotency-key"} <= {
        h.strip() for h in allowed.split(",")
    }
    assert "access-control-allow-credentials" not in r.headers


async def test_error_answers_carry_cors_headers(cors_api: InProcApp) -> None:
    """The SPA must be able to read a 401's problem+json (its `code`) cross-origin."""
    async with cors_api.client("agk_nope") as client:
        r = await client.get("/v1/me", headers={"Origin": ALLOWED})
    assert r.status_code == 401
    assert r.headers["access-control-allow-origin"] == ALLOWED
    assert r.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize("kind", ["invoke", "stream"])
async def test_hot_routes_answer_with_the_same_cors_headers(cors_api: InProcApp, kind: str) -> None:
    """invoke and stream are served ahead of the middleware stack (kit/hot.py), through their
    own CORS layer: an allowed origin gets its headers, another gets none."""
    assert cors_api.app.hot is not None
    assert cors_api.app.hot.match({"method": "POST", "path": f"/v1/agents/echo/{kind}"})
    tenant = await cors_api.tenant("acme")
    key = await cors_api.key(tenant)
    async with cors_api.client(key.secret) as client:
        path, body = f"/v1/agents/echo/{kind}", {"input": {}}
        allowed = await client.post(path, json=body, headers={"Origin": ALLOWED})
        other = await client.post(path, json=body, headers={"Origin": "https://evil.example"})
        bad = await client.post(path, content=b"[1,", headers={"Origin": ALLOWED})
    assert allowed.status_code == 404  # no such agent: the service's answer, with CORS
    assert allowed.headers["access-control-allow-origin"] == ALLOWED
    assert "x-invocation-id" in allowed.headers["access-control-expose-headers"].lower()
    assert "access-control-allow-origin" not in other.headers
    assert bad.status_code in (400, 415, 422)  # refused by the request-context layer
    assert bad.headers["access-control-allow-origin"] == ALLOWED
    assert "x-request-id" in allowed.headers


async def test_no_origins_configured_means_no_cors(api: InProcApp) -> None:
    async with api.client() as client:
        r = await client.get("/healthz", headers={"Origin": ALLOWED})
        pre = await client.options(
            "/v1/me", headers={"Origin": ALLOWED, "Access-Control-Request-Method": "GET"}
        )
    assert "access-control-allow-origin" not in r.headers
    assert "access-control-allow-origin" not in pre.headers


@pytest.mark.parametrize(
    "origin",
    [
        "*",
        "https://*.example.com",
        "https://app.example.com/",
        "https://app.example.com/x",
        "app.example.com",
        "ftp://x",
    ],
)
def test_setting_refuses_anything_but_exact_origins(origin: str) -> None:
    with pytest.raises(ValidationError, match="not an exact origin"):
        Settings(cors_origins=[origin])


def test_setting_reads_json_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTRY_CORS_ORIGINS", '["https://a.example.com", "http://localhost:5173"]')
    assert Settings().cors_origins == ["https://a.example.com", "http://localhost:5173"]

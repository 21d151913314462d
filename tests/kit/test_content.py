"""Body rules for every route (findings 6 and 7): JSON media type only, strict RFC 8259 JSON,
and every problem (500 too) carries the request id."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from agentry.kit.content import BodyRule, check_media_type
from agentry.kit.middleware import RequestContextMiddleware
from agentry.testing.inproc import InProcApp

JSON_ROUTES = ["/v1/agents/echo/invoke", "/v1/agents/echo/stream", "/v1/agents/echo/jobs"]


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/xml",
        "application/json; charset=utf-16",
        "application/json; charset=latin-1",
        "application/json-patch+json",
        None,
    ],
)
async def test_non_json_bodies_are_415_on_every_json_route(
    api: InProcApp, content_type: str | None
) -> None:
    tenant = await api.tenant("ctype")
    key = await api.key(tenant)
    headers = {} if content_type is None else {"content-type": content_type}
    async with api.client(key.secret) as c:
        for path in [*JSON_ROUTES, "/v1/api-keys", "/v1/webhooks"]:
            r = await c.post(path, content=b'{"input": {"prompt": "x"}}', headers=headers)
            assert r.status_code == 415, (path, r.text)
            assert r.headers["content-type"].startswith("application/problem+json")
            body = r.json()
            assert body["code"] == "unsupported_media_type"
            assert body["request_id"] == r.headers["x-request-id"]


@pytest.mark.parametrize(
    "raw",
    [
        b'{"input": {"x": NaN}}',
        b'{"input": {"x": Infinity}}',
        b'{"input": {"x": -Infinity}}',
        b'{"input": {"x": 1e400}}',
        b'{"input": {"x": -1e400}}',
        b'{"name": 1e999}',
    ],
)
async def test_non_finite_numbers_are_400(api: InProcApp, raw: bytes) -> None:
    tenant = await api.tenant("nan")
    key = await api.key(tenant)
    async with api.client(key.secret) as c:
        for path in [*JSON_ROUTES, "/v1/api-keys"]:
            r = await c.post(path, content=raw, headers={"content-type": "application/json"})
            assert r.status_code == 400, (path, r.text)
            assert r.json()["code"] == "malformed_json"
            assert "NaN" not in r.text.replace("NaN, Infinity", "")


async def test_utf8_json_with_charset_is_accepted(api: InProcApp) -> None:
    tenant = await api.tenant("utf8")
    key = await api.key(tenant)
    async with api.client(key.secret) as c:
        r = await c.post(
            "/v1/api-keys",
            content='{"name": "clé"}'.encode(),
            headers={"content-type": "Application/JSON; charset=UTF-8"},
        )
    assert r.status_code == 201, r.text


def test_upload_rule_takes_zip_and_a_missing_content_type() -> None:
    rule = BodyRule(frozenset({"application/zip"}), json=False, missing_ok=True)
    assert check_media_type(rule, None) is None
    assert check_media_type(rule, "application/zip") is None
    refused = check_media_type(rule, "text/plain")
    assert refused is not None
    assert refused.status == 415


async def test_unhandled_error_is_a_500_problem_with_request_id_and_keeps_the_connection() -> None:
    async def boom(_request: Request) -> JSONResponse:
        raise OverflowError("Python int too large to convert to SQLite INTEGER")

    async def fine(_request: Request) -> JSONResponse:
        return JSONResponse({"ok": True})

    app = Starlette(
        routes=[Route("/boom", boom), Route("/fine", fine)],
        middleware=[Middleware(RequestContextMiddleware, max_body_bytes=1024)],
    )
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=True)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        r = await c.get("/boom", headers={"x-request-id": "req-given-1234"})
        assert r.status_code == 500
        body = r.json()
        assert body["code"] == "internal_error"
        assert body["request_id"] == "req-given-1234"
        assert "SQLite" not in r.text
        assert (await c.get("/fine")).status_code == 200

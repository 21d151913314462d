"""The dev provider's sign-in sessions: refresh tokens (rotated), end-session, token lifetime."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest

from agentry.devidp.endpoints import SESSION_COOKIE
from agentry.devidp.users import DEV_SPA_CLIENT_ID
from agentry.testing import devidp_client as idp
from agentry.testing.inproc import InProcApp, running_app

BASE = "http://127.0.0.1"


@pytest.fixture
async def short(database_url: str, tmp_path: Path) -> AsyncIterator[InProcApp]:
    async with running_app(
        database_url, tmp_path, auth_failure_limit="10000/minute", dev_idp_token_lifetime_s=20
    ) as app:
        yield app


def _client(api: InProcApp) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=api.app), base_url=BASE)


async def _sign_in(c: httpx.AsyncClient, username: str = "ada@acme") -> dict[str, str]:
    login = idp.start(BASE)
    assert (await c.get(login.authorize_url, params=login.params)).status_code == 200
    r = await c.post(
        login.authorize_url, params=login.params, data={**login.params, "username": username}
    )
    assert r.status_code == 302, r.text
    assert SESSION_COOKIE in c.cookies
    code = parse_qs(urlsplit(r.headers["location"]).query)["code"][0]
    token = await c.post(
        login.token_url,
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": idp.REDIRECT_URI,
            "client_id": DEV_SPA_CLIENT_ID,
            "code_verifier": login.verifier,
        },
    )
    assert token.status_code == 200, token.text
    body: dict[str, str] = token.json()
    return body


async def _refresh(c: httpx.AsyncClient, refresh_token: str) -> httpx.Response:
    return await c.post(
        f"{BASE}/dev-idp/organizations/oauth2/v2.0/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": DEV_SPA_CLIENT_ID,
        },
    )


async def test_discovery_offers_refresh_and_end_session(api: InProcApp) -> None:
    async with _client(api) as c:
        d = (await c.get("/dev-idp/organizations/v2.0/.well-known/openid-configuration")).json()
    assert "refresh_token" in d["grant_types_supported"]
    assert d["end_session_endpoint"].endswith("/dev-idp/organizations/oauth2/v2.0/logout")


async def test_refresh_tokens_rotate_and_give_tokens_the_api_accepts(api: InProcApp) -> None:
    async with _client(api) as c:
        first = await _sign_in(c)
        assert first["refresh_token"]
        renewed = await _refresh(c, first["refresh_token"])
        assert renewed.status_code == 200, renewed.text
        second = renewed.json()
        assert second["refresh_token"] != first["refresh_token"]
        assert second["access_token"] != first["access_token"]
        claims = jwt.decode(second["access_token"], options={"verify_signature": False})
        assert claims["preferred_username"] == "ada@acme"
        # A refresh token is used once: the old one is refused after rotation.
        again = await _refresh(c, first["refresh_token"])
        assert (again.status_code, again.json()["error"]) == (400, "invalid_grant")
        assert (await _refresh(c, "made-up")).status_code == 400
        other_client = await c.post(
            f"{BASE}/dev-idp/organizations/oauth2/v2.0/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": second["refresh_token"],
                "client_id": "someone-else",
            },
        )
        assert other_client.status_code in (400, 401)
        assert (await _refresh(c, second["refresh_token"])).status_code == 200


async def test_end_session_revokes_the_sessions_refresh_tokens_only(api: InProcApp) -> None:
    async with _client(api) as ada, _client(api) as max_:
        tokens = await _sign_in(ada)
        others = await _sign_in(max_, "max@acme")
        back = "http://127.0.0.1:9/app/"
        r = await ada.get(
            "/dev-idp/organizations/oauth2/v2.0/logout",
            params={"post_logout_redirect_uri": back, "client_id": DEV_SPA_CLIENT_ID},
        )
        assert (r.status_code, r.headers["location"]) == (302, back)
        assert SESSION_COOKIE not in ada.cookies
        gone = await _refresh(ada, tokens["refresh_token"])
        assert (gone.status_code, gone.json()["error"]) == (400, "invalid_grant")
        assert (await _refresh(max_, others["refresh_token"])).status_code == 200


async def test_end_session_refuses_a_foreign_redirect(api: InProcApp) -> None:
    async with _client(api) as c:
        tokens = await _sign_in(c)
        r = await c.get(
            "/dev-idp/organizations/oauth2/v2.0/logout",
            params={"post_logout_redirect_uri": "https://evil.example/"},
        )
        assert r.status_code == 400
        assert "location" not in r.headers
        # A refused logout ends nothing... and a plain one (no redirect) says it signed out.
        assert (await _refresh(c, tokens["refresh_token"])).status_code == 200
        r = await c.get("/dev-idp/organizations/oauth2/v2.0/logout")
        assert r.status_code == 200
        assert "Signed out" in r.text


async def test_token_lifetime_is_a_setting(short: InProcApp) -> None:
    async with _client(short) as c:
        tokens = await _sign_in(c)
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 20
    assert int(tokens["expires_in"]) == 20

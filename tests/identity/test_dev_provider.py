"""The dev identity provider over real HTTP: discovery, login page, code + PKCE, tokens."""

from __future__ import annotations

import httpx
import jwt
import pytest

from agentry.testing import devidp_client as idp
from agentry.testing.stack import Stack

pytestmark = pytest.mark.e2e


def test_pkce_flow_yields_a_token_the_api_accepts(stack: Stack) -> None:
    with httpx.Client(timeout=30) as client:
        discovery = client.get(
            f"{stack.url}/dev-idp/organizations/v2.0/.well-known/openid-configuration"
        )
        assert discovery.json()["code_challenge_methods_supported"] == ["S256"]
        jwks = client.get(discovery.json()["jwks_uri"]).json()
        assert jwks["keys"]
        assert all("d" not in k for k in jwks["keys"])

        login = idp.start(stack.url)
        page = client.get(login.authorize_url, params=login.params)
        assert page.status_code == 200
        assert "ada@acme" in page.text
        code = idp.pick_user(client, login, "ada@acme")
        assert idp.redeem(client, login, code, verifier="x" * 50).status_code == 400
        token = idp.redeem(client, login, code)
        assert token.status_code == 200, token.text
        assert idp.redeem(client, login, code).status_code == 400  # a code is used once

    access = token.json()["access_token"]
    claims = jwt.decode(access, options={"verify_signature": False})
    assert claims["ver"] == "2.0"
    assert {"tid", "oid", "aud", "roles", "scp"} <= claims.keys()
    with stack.client(access) as c:
        me = c.get("/v1/me").json()
        assert (me["tenant_slug"], me["role"]) == ("acme", "admin")
        assert c.get("/v1/api-keys").status_code == 200

    member = idp.sign_in(stack.url, "max@acme")
    with stack.client(member) as c:
        assert c.get("/v1/me").json()["role"] == "member"
        assert c.get("/v1/audit").status_code == 403
    operator = idp.sign_in(stack.url, "oli@platform")
    with stack.client(operator) as c:
        assert c.get("/v1/admin/tenants").status_code == 200


def test_authorize_requires_pkce_s256(stack: Stack) -> None:
    login = idp.start(stack.url)
    with httpx.Client(timeout=30) as client:
        for drop in ({"code_challenge", "code_challenge_method"},):
            params = {k: v for k, v in login.params.items() if k not in drop}
            assert client.get(login.authorize_url, params=params).status_code == 400
        plain = {**login.params, "code_challenge_method": "plain"}
        assert client.get(login.authorize_url, params=plain).status_code == 400
        evil = {**login.params, "redirect_uri": "https://evil.example/cb"}
        assert client.get(login.authorize_url, params=evil).status_code == 400

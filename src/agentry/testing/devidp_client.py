"""Sign in at the dev identity provider the way a SPA does: authorization code + PKCE (S256)."""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import httpx

from agentry.devidp.users import DEV_SPA_CLIENT_ID

REDIRECT_URI = "http://127.0.0.1:9/callback"


@dataclass
class PkceLogin:
    authorize_url: str
    token_url: str
    params: dict[str, str]
    verifier: str


def start(base_url: str, *, directory: str = "organizations") -> PkceLogin:
    verifier = secrets.token_urlsafe(48)
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )
    root = f"{base_url}/dev-idp/{directory}/oauth2/v2.0"
    return PkceLogin(
        authorize_url=f"{root}/authorize",
        token_url=f"{root}/token",
        params={
            "client_id": DEV_SPA_CLIENT_ID,
            "response_type": "code",
            "redirect_uri": REDIRECT_URI,
            "scope": "openid Agentry.Access",
            "state": secrets.token_urlsafe(8),
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        },
        verifier=verifier,
    )


def pick_user(client: httpx.Client, login: PkceLogin, username: str) -> str:
    """Submit the login page's form; returns the authorization code from the redirect."""
    r = client.post(
        login.authorize_url, params=login.params, data={**login.params, "username": username}
    )
    if r.status_code != 302:
        raise RuntimeError(f"login failed: {r.status_code} {r.text}")
    query = parse_qs(urlsplit(r.headers["location"]).query)
    if query.get("state") != [login.params["state"]]:
        raise RuntimeError("state mismatch")
    return query["code"][0]


def redeem(
    client: httpx.Client, login: PkceLogin, code: str, verifier: str | None = None
) -> httpx.Response:
    return client.post(
        login.token_url,
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "client_id": DEV_SPA_CLIENT_ID,
            "code_verifier": login.verifier if verifier is None else verifier,
        },
    )


def sign_in(base_url: str, username: str) -> str:
    """The whole flow; returns the access token."""
    login = start(base_url)
    with httpx.Client(timeout=30) as client:
        page = client.get(login.authorize_url, params=login.params)
        page.raise_for_status()
        code = pick_user(client, login, username)
        token = redeem(client, login, code)
        token.raise_for_status()
        access: str = token.json()["access_token"]
        return access

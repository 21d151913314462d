"""`agentry ops login`: short-lived operator credentials from the identity provider.

Authorization code + PKCE (S256) with a loopback redirect, as a public client: the dev identity
provider locally, Entra ID in AWS (the authority and client id come from the API's
`/app/config.json`). The access token is stored in `$AGENTRY_HOME/operator-token.json` (mode
0600) with its expiry; operator commands send it instead of the long-lived operator key, which
stays a break-glass path the platform audits on every use.

Standard library only: every CLI command imports this module (through `client.resolve`).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import secrets
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentry.cli.http import HttpClient, HttpError

OPERATOR_KEY_ENV = "AGENTRY_OPERATOR_KEY"
TOKEN_FILE_ENV = "AGENTRY_OPERATOR_TOKEN_FILE"
BREAK_GLASS_ENV = "AGENTRY_BREAK_GLASS"
# A token this close to its expiry is treated as expired: a command must not fail half-way.
EXPIRY_MARGIN_S = 30
LOOPBACK_WAIT_S = 300


class LoginError(Exception):
    """A one-line, operator-facing reason; the CLI prints it and exits 2."""


def token_path() -> Path:
    configured = os.environ.get(TOKEN_FILE_ENV)
    if configured:
        return Path(configured)
    return Path(os.environ.get("AGENTRY_HOME", ".agentry")) / "operator-token.json"


@dataclass(frozen=True)
class StoredToken:
    url: str
    access_token: str
    expires_at: float
    subject: str

    @property
    def expires_iso(self) -> str:
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.expires_at))

    def expired(self, now: float | None = None) -> bool:
        return (now or time.time()) >= self.expires_at - EXPIRY_MARGIN_S


def read_token(path: Path | None = None) -> StoredToken | None:
    path = path or token_path()
    try:
        data = json.loads(path.read_text())
        return StoredToken(
            url=str(data["url"]),
            access_token=str(data["access_token"]),
            expires_at=float(data["expires_at"]),
            subject=str(data.get("subject", "")),
        )
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError) as exc:
        raise LoginError(f"{path} is unreadable: run `make ops-login` again") from exc


def write_token(token: StoredToken, path: Path | None = None) -> Path:
    """Atomically, readable by the owner only (0600 from creation, never wider)."""
    path = path or token_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(token.__dict__, f)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    return path


def operator_credential(url: str, fallback_key: str | None) -> str:
    """The bearer an operator command sends to `url`.

    A valid login wins; an expired one is an error (not a silent switch to the key);
    without any login the operator key is used: the break-glass path, audited by the platform.
    `AGENTRY_BREAK_GLASS=1` forces the key even when a login exists.
    """
    if os.environ.get(BREAK_GLASS_ENV, "").lower() in ("1", "yes", "true"):
        if not fallback_key:
            raise LoginError(f"break-glass needs {OPERATOR_KEY_ENV}")
        return fallback_key
    token = read_token()
    if token is not None and token.url.rstrip("/") == url.rstrip("/"):
        if token.expired():
            raise LoginError(
                f"operator login expired at {token.expires_iso}: run `make ops-login` "
                f"(break-glass: BREAK_GLASS=1 with {OPERATOR_KEY_ENV})"
            )
        return token.access_token
    if fallback_key:
        return fallback_key
    raise LoginError(f"no operator login: run `make ops-login` (break-glass: {OPERATOR_KEY_ENV})")


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _get_json(url: str, headers: dict[str, str] | None = None) -> Any:
    client = HttpClient(url, headers=headers, timeout=15)
    try:
        response = client.request("GET", url)
    except HttpError as exc:
        raise LoginError(f"{url}: {exc}") from exc
    finally:
        client.close()
    if response.status_code != 200:
        raise LoginError(f"{url} answered {response.status_code}")
    return response.json()


def _post_form(url: str, form: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    client = HttpClient(url, timeout=15)
    try:
        response = client.request(
            "POST",
            url,
            content=urllib.parse.urlencode(form).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    except HttpError as exc:
        raise LoginError(f"{url}: {exc}") from exc
    finally:
        client.close()
    return response.status_code, response.headers, response.content


def _code_from_redirect(location: str, state: str) -> str:
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))
    if query.get("state") != state:
        raise LoginError("the identity provider answered with another state: try again")
    if "error" in query:
        raise LoginError(f"sign-in refused: {query['error']} {query.get('error_description', '')}")
    if "code" not in query:
        raise LoginError("the identity provider sent no authorization code")
    return query["code"]


def _loopback_code(authorize_url: str, server: Any, state: str, say: Any) -> str:
    """Print the URL (and try a browser); wait for the provider's redirect to the loopback."""
    import webbrowser

    say(f"Open this URL to sign in: {authorize_url}")
    with contextlib.suppress(webbrowser.Error):
        webbrowser.open(authorize_url)
    server.timeout = LOOPBACK_WAIT_S
    server.handle_request()
    if server.location is None:
        raise LoginError(f"no sign-in within {LOOPBACK_WAIT_S} s")
    return _code_from_redirect(server.location, state)


def _loopback_server() -> Any:
    from http.server import BaseHTTPRequestHandler, HTTPServer

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.server.location = self.path  # type: ignore[attr-defined]
            body = b"Signed in to Agentry. You can close this window.\n"
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = HTTPServer(("127.0.0.1", 0), Handler)
    server.location = None  # type: ignore[attr-defined]
    return server


def login(url: str, *, dev_user: str | None, say: Any) -> StoredToken:
    """Sign in, check the account is an operator, store the token. `dev_user` picks a seeded
    user of the dev provider instead of a browser (local profile only)."""
    url = url.rstrip("/")
    config = _get_json(f"{url}/app/config.json")
    authority, client_id = str(config.get("authority") or ""), str(config.get("client_id") or "")
    if not authority or not client_id:
        raise LoginError(f"{url} has no sign-in configured (AGENTRY_WEB_AUTHORITY/CLIENT_ID)")
    if dev_user and not config.get("dev_sign_in"):
        raise LoginError("USER= is for the dev identity provider only: sign in in the browser")
    oidc = _get_json(f"{authority.rstrip('/')}/.well-known/openid-configuration")
    verifier = secrets.token_urlsafe(48)
    state = secrets.token_urlsafe(16)
    server = None if dev_user else _loopback_server()
    port = "" if server is None else f":{server.server_address[1]}"
    redirect_uri = f"http://127.0.0.1{port}/callback"
    params = {
        "client_id": client_id,
        "response_type": "code",
        "redirect_uri": redirect_uri,
        "scope": str(config.get("scopes") or ""),
        "state": state,
        "code_challenge": _b64url(hashlib.sha256(verifier.encode()).digest()),
        "code_challenge_method": "S256",
    }
    authorize = f"{oidc['authorization_endpoint']}?{urllib.parse.urlencode(params)}"
    if dev_user:
        status, headers, body = _post_form(authorize, {**params, "username": dev_user})
        if status not in (302, 303) or "location" not in headers:
            raise LoginError(f"dev sign-in as {dev_user!r} refused: {body[:200].decode()}")
        code = _code_from_redirect(headers["location"], state)
    else:
        assert server is not None
        try:
            code = _loopback_code(authorize, server, state, say)
        finally:
            server.server_close()
    status, _, body = _post_form(
        str(oidc["token_endpoint"]),
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "client_id": client_id,
            "code_verifier": verifier,
        },
    )
    if status != 200:
        raise LoginError(f"the token endpoint refused the code: {body[:200].decode()}")
    granted = json.loads(body)
    access_token = str(granted["access_token"])
    me = HttpClient(url, headers={"Authorization": f"Bearer {access_token}"}, timeout=15)
    try:
        answer = me.request("GET", "/v1/me")
    except HttpError as exc:
        raise LoginError(f"{url}: {exc}") from exc
    finally:
        me.close()
    if answer.status_code != 200:
        problem = answer.json() if answer.content else {}
        raise LoginError(
            f"the platform refused the login: {problem.get('code', answer.status_code)}"
        )
    who = answer.json()
    if who.get("role") != "operator":
        raise LoginError(
            f"signed in as {who.get('subject')} ({who.get('tenant_slug')}, role "
            f"{who.get('role')}): not an operator; see RUNBOOK-009"
        )
    token = StoredToken(
        url=url,
        access_token=access_token,
        expires_at=time.time() + float(granted.get("expires_in", 3600)),
        subject=str(who.get("subject", "")),
    )
    write_token(token)
    return token

"""The OAuth 2.0 / OIDC machinery, on Authlib's server components.

Authlib ships server integrations for Flask and Django only, so this module adapts its
framework-neutral `AuthorizationServer` to Starlette requests (the same few methods its Flask
integration implements). Authorization codes, refresh tokens and sign-in sessions live in
memory: the provider is a dev tool.

A sign-in starts a session (a cookie at the provider, like Entra's); refresh tokens belong to
it and rotate on every use. Ending the session (the end-session endpoint) revokes them.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import jwt
import orjson
from authlib.common.security import generate_token
from authlib.oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import ClientMixin, OAuth2Payload, OAuth2Request, grants
from authlib.oauth2.rfc6749.errors import InvalidRequestError
from authlib.oauth2.rfc7636 import CodeChallenge
from starlette.responses import Response

from agentry.devidp.keys import SigningKeys
from agentry.devidp.users import DEV_SPA_CLIENT_ID, DevUser

TOKEN_LIFETIME_S = 3600
CODE_LIFETIME_S = 300
REFRESH_LIFETIME_S = 24 * 3600  # Entra's for SPAs


class _Payload(OAuth2Payload):  # type: ignore[misc]
    def __init__(self, data: dict[str, str]) -> None:
        self._data = data

    @property
    def data(self) -> dict[str, str]:
        return self._data

    @property
    def datalist(self) -> defaultdict[str, list[str]]:
        out: defaultdict[str, list[str]] = defaultdict(list)
        for k, v in self._data.items():
            out[k].append(v)
        return out


class StarletteOAuth2Request(OAuth2Request):  # type: ignore[misc]
    def __init__(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        args: dict[str, str],
        form: dict[str, str],
    ) -> None:
        super().__init__(method=method, uri=url, headers=headers)
        self._args, self._form = args, form
        self.payload = _Payload({**args, **form})

    @property
    def args(self) -> dict[str, str]:
        return self._args

    @property
    def form(self) -> dict[str, str]:
        return self._form


class SpaClient(ClientMixin):  # type: ignore[misc]
    """A public single-page-app client: no secret, loopback redirect URIs, PKCE required."""

    client_id = DEV_SPA_CLIENT_ID

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        return None

    def get_allowed_scope(self, scope: str) -> str:
        return scope or ""

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        parts = urlsplit(redirect_uri)
        return parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost")

    def check_client_secret(self, client_secret: str) -> bool:
        return False

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == "none"

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in ("authorization_code", "refresh_token")


@dataclass(frozen=True)
class SignIn:
    """Who signed in, in which provider session (`sid`)."""

    user: DevUser
    sid: str


@dataclass
class AuthCode:
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    user: SignIn
    code_challenge: str | None
    code_challenge_method: str | None
    expires_at: float = field(default_factory=lambda: time.time() + CODE_LIFETIME_S)

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope


class S256Only(CodeChallenge):  # type: ignore[misc]
    DEFAULT_CODE_CHALLENGE_METHOD = "S256"
    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        if not grant.request.payload.data.get("code_challenge"):
            raise InvalidRequestError("PKCE with S256 is required.")
        super().validate_code_challenge(grant, redirect_uri)


class CodeGrant(grants.AuthorizationCodeGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = ["none"]

    def save_authorization_code(self, code: str, request: StarletteOAuth2Request) -> None:
        server: DevAuthorizationServer = self.server
        server.codes[code] = AuthCode(
            code=code,
            client_id=request.client.get_client_id(),
            redirect_uri=request.payload.redirect_uri or "",
            scope=request.payload.scope or "",
            user=request.user,
            code_challenge=request.payload.data.get("code_challenge"),
            code_challenge_method=request.payload.data.get("code_challenge_method"),
        )

    def query_authorization_code(self, code: str, client: SpaClient) -> AuthCode | None:
        server: DevAuthorizationServer = self.server
        found = server.codes.get(code)
        if found and found.client_id == client.get_client_id() and found.expires_at > time.time():
            return found
        return None

    def delete_authorization_code(self, authorization_code: AuthCode) -> None:
        server: DevAuthorizationServer = self.server
        server.codes.pop(authorization_code.code, None)

    def authenticate_user(self, authorization_code: AuthCode) -> SignIn:
        return authorization_code.user


@dataclass
class RefreshToken:
    token: str
    client_id: str
    scope: str
    user: SignIn
    expires_at: float = field(default_factory=lambda: time.time() + REFRESH_LIFETIME_S)

    def check_client(self, client: SpaClient) -> bool:
        return client.get_client_id() == self.client_id

    def get_scope(self) -> str:
        return self.scope


class RefreshGrant(grants.RefreshTokenGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = ["none"]
    INCLUDE_NEW_REFRESH_TOKEN = True  # rotation: each refresh token is used once

    def authenticate_refresh_token(self, refresh_token: str) -> RefreshToken | None:
        server: DevAuthorizationServer = self.server
        found = server.refresh_tokens.get(refresh_token)
        if found and found.expires_at > time.time() and found.user.sid in server.sessions:
            return found
        return None

    def authenticate_user(self, refresh_token: RefreshToken) -> SignIn:
        return refresh_token.user

    def revoke_old_credential(self, refresh_token: RefreshToken) -> None:
        server: DevAuthorizationServer = self.server
        server.refresh_tokens.pop(refresh_token.token, None)


class DevAuthorizationServer(AuthorizationServer):  # type: ignore[misc]
    def __init__(
        self,
        keys: SigningKeys,
        *,
        issuer_template: str,
        audience: str,
        token_lifetime_s: int = TOKEN_LIFETIME_S,
    ) -> None:
        super().__init__(scopes_supported=None)
        self.keys = keys
        self.issuer_template = issuer_template
        self.audience = audience
        self.token_lifetime_s = token_lifetime_s
        self.codes: dict[str, AuthCode] = {}
        self.refresh_tokens: dict[str, RefreshToken] = {}
        self.sessions: set[str] = set()
        self.client = SpaClient()
        self.register_grant(CodeGrant, [S256Only(required=True)])
        self.register_grant(RefreshGrant)
        self.register_token_generator("default", self._generate)

    def start_session(self, user: DevUser) -> SignIn:
        sid = generate_token(32)
        self.sessions.add(sid)
        return SignIn(user, sid)

    def end_session(self, sid: str) -> int:
        """End a provider session; its refresh tokens stop working. Returns how many."""
        self.sessions.discard(sid)
        gone = [t for t, r in self.refresh_tokens.items() if r.user.sid == sid]
        for t in gone:
            del self.refresh_tokens[t]
        return len(gone)

    def query_client(self, client_id: str) -> SpaClient | None:
        return self.client if client_id == self.client.client_id else None

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        return None  # access tokens are self-contained JWTs

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        return None

    def create_oauth2_request(self, request: Any) -> Any:
        return request  # already a StarletteOAuth2Request

    def create_json_request(self, request: Any) -> Any:
        raise NotImplementedError

    def handle_response(self, status: int, body: Any, headers: Any) -> Response:
        content = body if isinstance(body, str) else orjson.dumps(body)
        media = None if isinstance(body, str) else "application/json"
        return Response(content, status_code=status, headers=dict(headers), media_type=media)

    def access_token(self, user: DevUser, *, client_id: str, scope: str = "") -> str:
        """An access token shaped like Entra ID v2's."""
        now = int(time.time())
        kid, key = self.keys.current()
        claims: dict[str, Any] = {
            "ver": "2.0",
            "iss": self.issuer_template.replace("{tid}", user.tid),
            "aud": self.audience,
            "tid": user.tid,
            "oid": user.oid,
            "sub": user.oid,
            "azp": client_id,
            "name": user.name,
            "preferred_username": user.username,
            "scp": user.scp,
            "iat": now,
            "nbf": now,
            "exp": now + self.token_lifetime_s,
            "uti": generate_token(22),
        }
        if user.roles:
            claims["roles"] = list(user.roles)
        return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})

    def _generate(
        self,
        *,
        grant_type: str,
        client: SpaClient,
        user: SignIn,
        scope: str,
        expires_in: int | None = None,
        include_refresh_token: bool = True,
    ) -> dict[str, Any]:
        token: dict[str, Any] = {
            "token_type": "Bearer",
            "access_token": self.access_token(user.user, client_id=client.client_id, scope=scope),
            "expires_in": self.token_lifetime_s,
            "scope": scope,
        }
        if include_refresh_token:
            refresh = generate_token(48)
            self.refresh_tokens[refresh] = RefreshToken(refresh, client.client_id, scope, user)
            token["refresh_token"] = refresh
        return token

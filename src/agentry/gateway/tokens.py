"""Checking invocation tokens (RS256 JWTs the platform signs) with PyJWT.

In-process the gateway can be given the platform's public keys; in AWS the interceptor Lambda
fetches them from the platform's JWKS URL (cached, refetched on an unknown `kid`).
"""

from __future__ import annotations

from typing import Any

import jwt
from jwt import PyJWKClient

from agentry.gateway.claims import InvalidInvocationToken, InvocationClaims

LEEWAY_S = 30
_REQUIRED = ["exp", "iat", "iss", "aud", "jti", "tenant", "tier", "agent", "invocation_id"]


class JwtTokenVerifier:
    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        keys: dict[str, Any] | None = None,
        jwks_url: str | None = None,
    ) -> None:
        if (keys is None) == (jwks_url is None):
            raise ValueError("give exactly one of keys (kid -> public key) or jwks_url")
        self._issuer = issuer
        self._audience = audience
        self._keys = keys or {}
        self._jwks = PyJWKClient(jwks_url, lifespan=300) if jwks_url else None

    def _key(self, token: str) -> Any:
        try:
            if self._jwks is not None:
                return self._jwks.get_signing_key_from_jwt(token).key
            kid = jwt.get_unverified_header(token).get("kid")
        except (jwt.PyJWTError, jwt.PyJWKClientError) as exc:
            raise InvalidInvocationToken(f"unusable token: {exc}") from exc
        if kid not in self._keys:
            raise InvalidInvocationToken("unknown signing key")
        return self._keys[kid]

    def verify(self, token: str) -> InvocationClaims:
        try:
            payload = jwt.decode(
                token,
                self._key(token),
                algorithms=["RS256"],
                audience=self._audience,
                issuer=self._issuer,
                leeway=LEEWAY_S,
                options={"require": _REQUIRED},
            )
            return InvocationClaims.from_payload(payload)
        except jwt.ExpiredSignatureError as exc:
            raise InvalidInvocationToken("token expired") from exc
        except (jwt.PyJWTError, KeyError, ValueError) as exc:
            raise InvalidInvocationToken(f"invalid token: {exc}") from exc

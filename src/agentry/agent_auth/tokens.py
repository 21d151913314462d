"""Sign and verify invocation tokens (RS256, PyJWT). Keys live under `<home>/agent-auth/`.

A token names exactly one invocation (job) of one agent version for one tenant, carries the
scopes the agent may use with it (`jobs` for the job callbacks) and expires soon; callbacks
answer with a fresh token so a long job never holds a long-lived credential.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from agentry.kit.clock import utcnow
from agentry.kit.errors import Unauthorized
from agentry.kit.ids import new_id

ISSUER = "agentry"
AUDIENCE = "agentry-agent"
ALGORITHM = "RS256"


class InvalidInvocationToken(Unauthorized):
    code = "invalid_invocation_token"
    title = "Missing, invalid or expired invocation token"


@dataclass(frozen=True, slots=True)
class InvocationClaims:
    tenant_id: str
    tier: str
    agent: str
    version: int
    invocation_id: str
    session_id: str
    scopes: frozenset[str]
    jti: str
    tools: frozenset[str] | None = None


def _load_or_create_key(directory: Path) -> rsa.RSAPrivateKey:
    path = directory / "signing-key.pem"
    if not path.exists():
        directory.mkdir(parents=True, exist_ok=True)
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        tmp = directory / f".signing-key.{os.getpid()}.tmp"
        tmp.write_bytes(pem)
        tmp.chmod(0o600)
        # link() fails if another process (API, worker) won the race: then use its key.
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
        tmp.unlink()
    loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    assert isinstance(loaded, rsa.RSAPrivateKey)
    return loaded


class TokenSigner:
    def __init__(self, key_dir: Path, ttl_s: int = 900) -> None:
        self._key = _load_or_create_key(key_dir)
        self._public = self._key.public_key()
        self.ttl_s = ttl_s
        der = self._public.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.kid = hashlib.sha256(der).hexdigest()[:16]

    def sign(
        self,
        *,
        tenant_id: str,
        tier: str,
        agent: str,
        version: int,
        invocation_id: str,
        session_id: str,
        scopes: tuple[str, ...] = ("jobs",),
        tools: list[str] | None = None,
    ) -> str:
        now = utcnow()
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": f"agent:{agent}",
            "tenant": tenant_id,
            "tier": tier,
            "agent": agent,
            "version": version,
            "invocation_id": invocation_id,
            "session_id": session_id,
            "scope": " ".join(scopes),
            "jti": new_id("jti"),
            "iat": now,
            "exp": now + timedelta(seconds=self.ttl_s),
        }
        if tools is not None:
            claims["tools"] = sorted(tools)  # the agent's declared tools; the gateway enforces them
        return jwt.encode(claims, self._key, algorithm=ALGORITHM, headers={"kid": self.kid})

    def verify(self, token: str) -> InvocationClaims:
        try:
            data = jwt.decode(
                token,
                self._public,
                algorithms=[ALGORITHM],
                audience=AUDIENCE,
                issuer=ISSUER,
                options={"require": ["exp", "iat", "jti", "aud", "iss"]},
            )
            return InvocationClaims(
                tenant_id=str(data["tenant"]),
                tier=str(data["tier"]),
                agent=str(data["agent"]),
                version=int(data["version"]),
                invocation_id=str(data["invocation_id"]),
                session_id=str(data["session_id"]),
                scopes=frozenset(str(data.get("scope", "")).split()),
                jti=str(data["jti"]),
                tools=frozenset(data["tools"]) if isinstance(data.get("tools"), list) else None,
            )
        except (jwt.PyJWTError, KeyError, ValueError) as exc:
            raise InvalidInvocationToken() from exc

    def jwks(self) -> dict[str, Any]:
        jwk: dict[str, Any] = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self._public))
        jwk.update(kid=self.kid, use="sig", alg=ALGORITHM)
        return {"keys": [jwk]}

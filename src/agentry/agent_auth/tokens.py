"""Sign and verify invocation tokens (RS256, PyJWT). Keys live under `<home>/agent-auth/`.

A token names exactly one invocation of one agent version for one tenant, carries the scopes
the agent may use with it (`model`, `tools`, `jobs`) and expires soon; job callbacks answer
with a fresh token, so a long job never holds a long-lived credential. The issuer is a URL:
`<issuer>/.well-known/openid-configuration` and `<issuer>/.well-known/jwks.json` let any
OIDC-aware checker (AgentCore Gateway's `customJWTAuthorizer`, the interceptor Lambda)
verify the same tokens without sharing a secret.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt import PyJWKClient

from agentry.agent_auth.claims import InvalidInvocationToken, InvocationClaims, InvocationEnded
from agentry.kit.clock import utcnow
from agentry.kit.ids import new_id

DEFAULT_ISSUER = "http://127.0.0.1:8000"
AUDIENCE = "agentry-agent"
MAX_TOKEN_CHARS = 16_384  # platform tokens are ~1-4 KB (a long tool list included)
ALGORITHM = "RS256"
SCOPES = ("model", "tools", "jobs", "agents")
LEEWAY_S = 30  # clock skew between the signer and a verifier on another host (Lambda)
MAX_TTL_S = 3600  # the longest lifetime a token may be given (settings cap it here)
DISCOVERY_PATH = "/.well-known/openid-configuration"
JWKS_PATH = "/.well-known/jwks.json"
CLAIMS = (
    "iss", "aud", "sub", "exp", "iat", "jti", "scope", "tenant", "tier", "attempt",
    "agent", "version", "invocation_id", "session_id", "tools", "agents", "chain", "trace_id",
)  # fmt: skip
_REQUIRED = ["exp", "iat", "iss", "aud", "jti", "tenant", "tier", "agent", "invocation_id"]

EndedCheck = Callable[[str], bool]


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


def key_id(public: rsa.RSAPublicKey) -> str:
    der = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()[:16]


class TokenVerifier:
    """Checks signature, issuer, audience, lifetime and the claims the platform relies on.

    Keys come from a map (in the process that signs) or from a JWKS URL (elsewhere: cached
    for 5 minutes, refetched on an unknown `kid`). `ended` tells whether an invocation has
    finished; its tokens are then refused even before they expire.
    """

    def __init__(
        self,
        *,
        issuer: str,
        audience: str = AUDIENCE,
        keys: Mapping[str, Any] | None = None,
        jwks_url: str | None = None,
        ended: EndedCheck | None = None,
    ) -> None:
        if (keys is None) == (jwks_url is None):
            raise ValueError("give exactly one of keys (kid -> public key) or jwks_url")
        self.issuer = issuer
        self.audience = audience
        self._keys: Mapping[str, Any] = keys if keys is not None else {}  # may be live (a ring)
        self._jwks = PyJWKClient(jwks_url, lifespan=300) if jwks_url else None
        self._ended = ended

    @classmethod
    def from_discovery(
        cls,
        discovery_url: str,
        *,
        audience: str = AUDIENCE,
        issuer: str | None = None,
        timeout_s: float = 5.0,
    ) -> TokenVerifier:
        """As an OIDC relying party does: the discovery document names issuer and JWKS."""
        if not discovery_url.endswith(DISCOVERY_PATH):
            raise ValueError(f"a discovery URL ends in {DISCOVERY_PATH}")
        with urllib.request.urlopen(discovery_url, timeout=timeout_s) as response:
            document: dict[str, Any] = json.loads(response.read())
        if issuer is not None and document.get("issuer") != issuer:
            raise ValueError(f"discovery names issuer {document.get('issuer')!r}, not {issuer!r}")
        return cls(issuer=str(document["issuer"]), audience=audience, jwks_url=document["jwks_uri"])

    def _key(self, token: str) -> Any:
        try:
            if self._jwks is not None:
                return self._jwks.get_signing_key_from_jwt(token).key
            kid = jwt.get_unverified_header(token).get("kid")
        except (jwt.PyJWTError, jwt.PyJWKClientError) as exc:
            raise InvalidInvocationToken(f"unusable token: {exc}") from exc
        key = self._keys.get(kid) if isinstance(kid, str) else None
        if key is None:
            raise InvalidInvocationToken("unknown signing key")
        return key

    def verify(self, token: str) -> InvocationClaims:
        if len(token) > MAX_TOKEN_CHARS:  # before any parsing: a 200 KB "token" costs nothing
            raise InvalidInvocationToken(f"tokens are at most {MAX_TOKEN_CHARS} characters")
        try:
            payload = jwt.decode(
                token,
                self._key(token),
                algorithms=[ALGORITHM],
                audience=self.audience,
                issuer=self.issuer,
                # exp/iat are checked below against the platform clock (kit.clock), which
                # tests move; PyJWT reads the real one.
                options={"require": _REQUIRED, "verify_exp": False, "verify_iat": False},
            )
            _check_times(payload)
            claims = InvocationClaims.from_payload(payload)
        except (jwt.PyJWTError, KeyError, ValueError, TypeError) as exc:
            raise InvalidInvocationToken(f"invalid token: {exc}") from exc
        self.check_live(claims)
        return claims

    def check_live(self, claims: InvocationClaims) -> None:
        """Raise InvocationEnded when the token's invocation has finished."""
        if self._ended is not None and self._ended(claims.invocation_id):
            raise InvocationEnded(f"invocation {claims.invocation_id} has ended")


def _check_times(payload: Mapping[str, Any]) -> None:
    now = utcnow().timestamp()
    exp, iat = payload["exp"], payload["iat"]
    if not isinstance(exp, int | float) or not isinstance(iat, int | float):
        raise InvalidInvocationToken("invalid token: exp and iat must be numbers")
    if exp <= now - LEEWAY_S:
        raise InvalidInvocationToken("token expired")
    if iat > now + LEEWAY_S:
        raise InvalidInvocationToken("invalid token: issued in the future")


RETIRED = "retired"  # <key_dir>/retired/<kid>.pem: still published and verifying


def rotate_signing_key(key_dir: Path) -> tuple[str, str]:
    """A new signing key; the old one moves to `retired/` (JWKS overlap). Returns (old, new)."""
    current = key_dir / "signing-key.pem"
    old = _load_or_create_key(key_dir)
    old_kid = key_id(old.public_key())
    retired = key_dir / RETIRED
    retired.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        os.link(current, retired / f"{old_kid}.pem")  # published before it stops signing
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    tmp = key_dir / f".signing-key.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    os.replace(tmp, current)
    return old_kid, key_id(key.public_key())


def retire_signing_keys(key_dir: Path) -> list[str]:
    """End the overlap: retired keys are no longer published nor accepted. Returns their kids."""
    gone = []
    for path in sorted((key_dir / RETIRED).glob("*.pem")):
        path.unlink()
        gone.append(path.stem)
    return gone


class _RingKeys(Mapping[str, Any]):
    """kid -> public key of a signer's ring, current at every lookup."""

    def __init__(self, signer: TokenSigner) -> None:
        self._signer = signer

    def __getitem__(self, kid: str) -> Any:
        return self._signer.public_keys()[kid]

    def __iter__(self) -> Iterator[str]:
        return iter(self._signer.public_keys())

    def __len__(self) -> int:
        return len(self._signer.public_keys())


class TokenSigner:
    """Signs with `<key_dir>/signing-key.pem`; keys in `<key_dir>/retired/` still verify and
    are still in the JWKS. A rotation by another process (the API's admin route while a worker
    signs) is picked up at the next use: the key files are checked for changes on every call."""

    def __init__(
        self,
        key_dir: Path,
        *,
        issuer: str = DEFAULT_ISSUER,
        audience: str = AUDIENCE,
        ttl_s: int = 900,
    ) -> None:
        self._dir = key_dir
        self._seen: tuple[Any, ...] | None = None
        self._retired: dict[str, rsa.RSAPublicKey] = {}
        self._key = _load_or_create_key(key_dir)
        self._refresh()
        self.issuer = issuer.rstrip("/")
        self.audience = audience
        self.ttl_s = min(ttl_s, MAX_TTL_S)
        self._verifier = self.verifier()

    def _fingerprint(self) -> tuple[Any, ...]:
        st = (self._dir / "signing-key.pem").stat()
        try:
            rt = (self._dir / RETIRED).stat()
            retired: tuple[int, int] = (rt.st_ino, rt.st_mtime_ns)
        except FileNotFoundError:
            retired = (0, 0)
        return st.st_ino, st.st_mtime_ns, *retired

    def _refresh(self) -> None:
        seen = self._fingerprint()
        if seen == self._seen:
            return
        self._key = _load_or_create_key(self._dir)
        retired = {}
        for path in sorted((self._dir / RETIRED).glob("*.pem")):
            loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
            assert isinstance(loaded, rsa.RSAPrivateKey)
            retired[path.stem] = loaded.public_key()
        self._public = self._key.public_key()
        self._kid = key_id(self._public)
        retired.pop(self._kid, None)
        self._retired = retired
        self._seen = seen

    @property
    def key_dir(self) -> Path:
        return self._dir

    @property
    def kid(self) -> str:
        self._refresh()
        return self._kid

    def public_keys(self) -> dict[str, Any]:
        """Every key a token may be signed with: the current one first, then retired ones."""
        self._refresh()
        return {self._kid: self._public, **self._retired}

    def verifier(self, ended: EndedCheck | None = None) -> TokenVerifier:
        """A verifier holding this signer's public keys (no network)."""
        return TokenVerifier(
            issuer=self.issuer, audience=self.audience, keys=_RingKeys(self), ended=ended
        )

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
        attempt: int | None = None,
        agents: list[str] | None = None,
        chain: list[str] | None = None,
        trace_id: str | None = None,
    ) -> str:
        unknown = set(scopes) - set(SCOPES)
        if unknown:
            raise ValueError(f"unknown scope(s): {', '.join(sorted(unknown))}")
        now = utcnow()
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.audience,
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
        if attempt is not None:
            claims["attempt"] = attempt  # job callbacks from an older attempt are refused
        if tools is not None:
            claims["tools"] = sorted(tools)  # the agent's declared tools; the gateway enforces them
        if agents is not None:
            claims["agents"] = sorted(agents)  # the agents it may delegate to
        if chain is not None:
            claims["chain"] = list(chain)  # root first, this agent last (A2A depth and loops)
        if trace_id:
            claims["trace_id"] = trace_id
        kid = self.kid  # refreshes the key first
        return jwt.encode(claims, self._key, algorithm=ALGORITHM, headers={"kid": kid})

    def verify(self, token: str) -> InvocationClaims:
        """Signature and claims only; the API's verifier also refuses ended invocations."""
        return self._verifier.verify(token)

    def jwks(self) -> dict[str, Any]:
        keys = []
        for kid, public in self.public_keys().items():
            jwk: dict[str, Any] = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(public))
            jwk.update(kid=kid, use="sig", alg=ALGORITHM)
            keys.append(jwk)
        return {"keys": keys}

    def discovery(self) -> dict[str, Any]:
        """OpenID Provider metadata, as far as it applies to tokens the platform mints itself.

        There is no authorization or token endpoint: the platform issues a token per
        invocation. Relying parties need the issuer and the JWKS, which is what AgentCore's
        `customJWTAuthorizer` reads.
        """
        return {
            "issuer": self.issuer,
            "jwks_uri": f"{self.issuer}{JWKS_PATH}",
            "response_types_supported": ["token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": [ALGORITHM],
            "token_endpoint_auth_signing_alg_values_supported": [ALGORITHM],
            "scopes_supported": list(SCOPES),
            "claims_supported": list(CLAIMS),
        }

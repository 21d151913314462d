"""Entra ID v2 access tokens (and the dev provider's, which are shaped the same).

Checks, in order: RS256 only; a `kid` found in the JWKS (refetched once on an unknown kid, at
most every `jwks_refetch_interval_s`); signature; `aud` = our client id; `exp`/`nbf`/`iat` with
≤60 s leeway; `ver` 2.0; `tid` a GUID and `iss` equal to the template with that `tid`; `tid`
onboarded. Roles come from the `roles` claim (app roles) or `scp` (delegated), never from
email/upn/preferred_username.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
from jwt import PyJWK, PyJWKSet
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agentry.api_keys.service import TenantSuspended
from agentry.identity.principal import ROLE_SCOPES, Principal, Role
from agentry.kit.clock import monotonic
from agentry.kit.errors import Unauthorized
from agentry.kit.logging import get_logger
from agentry.models.tenant import TenantStatus
from agentry.tenants.repository import EntraMappingAuthRepository

log = get_logger("agentry.identity.tokens")

_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
# App roles (the `roles` claim) → platform role; the highest one wins.
APP_ROLES: dict[str, Role] = {
    "Agentry.Member": Role.member,
    "Agentry.Developer": Role.developer,
    "Agentry.Admin": Role.admin,
    "Agentry.Operator": Role.operator,
}
# Delegated scopes (the `scp` claim) for a signed-in user without an app role.
DELEGATED_SCOPES: dict[str, Role] = {"Agentry.Access": Role.member, "access_as_user": Role.member}
_RANK = [Role.member, Role.developer, Role.admin, Role.operator]
PLATFORM_SLUG = "platform"
TENANT_CACHE_S = 5.0


class InvalidToken(Unauthorized):
    code = "invalid_token"
    title = "Invalid access token"


class TenantNotOnboarded(InvalidToken):
    """A genuine token (signature, issuer, audience checked) from a directory no tenant has."""

    code = "tenant_not_onboarded"
    title = "The organisation is not onboarded"


JwksFetcher = Callable[[], Awaitable[dict[str, Any]]]


def http_jwks_fetcher(url: str) -> JwksFetcher:
    async def fetch() -> dict[str, Any]:
        async with httpx.AsyncClient(timeout=5.0) as client:
            response = await client.get(url)
            response.raise_for_status()
            data: dict[str, Any] = response.json()
            return data

    return fetch


class JwksCache:
    """Signing keys by kid. Refetches when stale, or once on an unknown kid (rate-limited)."""

    def __init__(self, fetch: JwksFetcher, *, ttl_s: float, refetch_interval_s: float) -> None:
        self._fetch = fetch
        self._ttl = ttl_s
        self._interval = refetch_interval_s
        self._keys: dict[str, tuple[PyJWK, dict[str, Any]]] = {}
        self._fetched_at: float | None = None
        self._lock = asyncio.Lock()

    async def get(self, kid: str) -> tuple[PyJWK, dict[str, Any]] | None:
        now = monotonic()
        stale = self._fetched_at is None or now - self._fetched_at > self._ttl
        if stale or (kid not in self._keys and now - (self._fetched_at or 0) >= self._interval):
            await self._refresh(force=stale)
        return self._keys.get(kid)

    async def _refresh(self, *, force: bool) -> None:
        async with self._lock:
            now = monotonic()
            if (
                not force
                and self._fetched_at is not None
                and now - self._fetched_at < self._interval
            ):
                return  # another request refetched meanwhile
            try:
                data = await self._fetch()
                raw = {k.get("kid"): k for k in data.get("keys", []) if isinstance(k, dict)}
                keyset = PyJWKSet.from_dict(data)
            except Exception as exc:  # keep the old keys; the token fails as unknown kid
                log.warning("jwks_fetch_failed", error_type=type(exc).__name__)
                self._fetched_at = now
                return
            self._keys = {k.key_id: (k, raw.get(k.key_id, {})) for k in keyset.keys if k.key_id}
            self._fetched_at = now


@dataclass(frozen=True, slots=True)
class TokenSettings:
    client_id: str
    issuer_template: str
    leeway_s: int


class TokenValidator:
    def __init__(
        self,
        maker: async_sessionmaker[AsyncSession],
        jwks: JwksCache,
        settings: TokenSettings,
    ) -> None:
        self._maker = maker
        self._jwks = jwks
        self._settings = settings
        self._tenants: dict[str, tuple[Any, float]] = {}

    async def authenticate(self, token: str) -> Principal:
        claims = await self._verify(token)
        tid = claims["tid"]
        tenant = await self._tenant_for(tid)
        if tenant is None:
            raise TenantNotOnboarded("The token's directory is not onboarded.")
        role = self._role(claims, is_platform=tenant.slug == PLATFORM_SLUG)
        if tenant.status == TenantStatus.suspended.value:
            raise TenantSuspended(f"Tenant '{tenant.slug}' is suspended.")
        return Principal(
            tenant_id=tenant.id,
            tenant_slug=tenant.slug,
            tier=tenant.tier,
            role=role,
            scopes=ROLE_SCOPES[role],
            subject=f"entra:{tid}/{claims['oid']}",
        )

    async def _verify(self, token: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise InvalidToken("The token is malformed.") from exc
        if header.get("alg") != "RS256":
            raise InvalidToken("Only RS256 tokens are accepted.")
        kid = header.get("kid")
        found = await self._jwks.get(kid) if isinstance(kid, str) else None
        if found is None:
            raise InvalidToken("The token's signing key is unknown.")
        key, raw = found
        s = self._settings
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key,
                algorithms=["RS256"],
                audience=s.client_id,
                leeway=s.leeway_s,
                options={"require": ["exp", "nbf", "iat", "iss", "aud", "tid", "oid"]},
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken(f"The token is not valid: {type(exc).__name__}.") from exc
        tid = claims.get("tid")
        if not isinstance(tid, str) or not _GUID.match(tid):
            raise InvalidToken("The token's tid is not a GUID.")
        if claims.get("ver") != "2.0":
            raise InvalidToken("Only v2.0 access tokens are accepted.")
        expected = s.issuer_template.replace("{tid}", tid)
        if claims.get("iss") != expected:
            raise InvalidToken("The token's issuer is not accepted.")
        # Entra's multi-tenant keys carry an `issuer` (often templated); it must match too.
        key_issuer = raw.get("issuer")
        if isinstance(key_issuer, str) and key_issuer.replace("{tenantid}", tid) != expected:
            raise InvalidToken("The signing key does not belong to the token's issuer.")
        return claims

    def _role(self, claims: dict[str, Any], *, is_platform: bool) -> Role:
        granted: set[Role] = set()
        roles = claims.get("roles")
        if isinstance(roles, list):
            granted |= {APP_ROLES[r] for r in roles if isinstance(r, str) and r in APP_ROLES}
        scp = claims.get("scp")
        if isinstance(scp, str):
            granted |= {DELEGATED_SCOPES[s] for s in scp.split() if s in DELEGATED_SCOPES}
        # A customer's own directory admin can assign any app role in their directory, so the
        # operator role is honoured only for the platform's own directory.
        if not is_platform:
            granted.discard(Role.operator)
        if not granted:
            raise InvalidToken("The token grants no Agentry role.")
        return max(granted, key=_RANK.index)

    async def _tenant_for(self, tid: str) -> Any:
        cached = self._tenants.get(tid)
        if cached is not None and cached[1] > monotonic():
            return cached[0]
        async with self._maker() as session:
            tenant = await EntraMappingAuthRepository(session).tenant_for(tid)
        self._tenants[tid] = (tenant, monotonic() + TENANT_CACHE_S)
        return tenant

    def forget(self) -> None:
        self._tenants.clear()

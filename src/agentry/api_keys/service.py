"""API key issuance and authentication.

Authentication is on the hot path, so verified keys are cached briefly in memory
(`AUTH_CACHE_TTL_S`, or the `auth_cache_s` setting) and `last_used_at` is flushed in batches
instead of written per request.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agentry.api_keys import keys
from agentry.api_keys.repository import ApiKeyAuthRepository, ApiKeyRepository
from agentry.identity.principal import ROLE_SCOPES, Principal, Role, Scope
from agentry.kit.clock import monotonic, utcnow
from agentry.kit.db.engine import session_scope
from agentry.kit.errors import Forbidden, NotFound, Unauthorized, ValidationFailed
from agentry.kit.ids import new_id
from agentry.kit.logging import get_logger
from agentry.models import ApiKey, Tenant
from agentry.models.tenant import TenantStatus
from agentry.tenants.repository import TenantRepository

AUTH_CACHE_TTL_S = 5.0
LAST_USED_FLUSH_S = 30.0
log = get_logger("agentry.api_keys")


class InvalidApiKey(Unauthorized):
    code = "invalid_api_key"
    title = "Invalid API key"


class TenantSuspended(Forbidden):
    code = "tenant_suspended"
    title = "The tenant is suspended"


@dataclass(frozen=True, slots=True)
class IssuedKey:
    key: ApiKey
    secret: str


async def issue_key(
    session: AsyncSession,
    tenant: Tenant,
    *,
    name: str,
    role: Role,
    pepper: bytes,
    created_by: str | None = None,
    expires_at: datetime | None = None,
    secret: str | None = None,
    scopes: frozenset[Scope] | None = None,
) -> IssuedKey:
    """Create a key. The secret is returned once and never stored."""
    secret = secret or keys.generate()
    if not keys.well_formed(secret):
        raise ValueError("malformed key")
    key = ApiKey(
        id=new_id("key"),
        tenant_id=tenant.id,
        name=name,
        key_hash=keys.hash_key(secret, pepper),
        display_prefix=keys.display_prefix(secret),
        role=role.value,
        scopes=sorted(s.value for s in (ROLE_SCOPES[role] if scopes is None else scopes)),
        created_by=created_by,
        expires_at=expires_at,
    )
    await ApiKeyRepository(session, tenant.id).add(key)
    return IssuedKey(key=key, secret=secret)


class ApiKeyNotFound(NotFound):
    code = "api_key_not_found"
    title = "No such API key"


class ScopeNotGrantable(Forbidden):
    code = "scope_not_grantable"
    title = "A key may not get scopes its creator lacks"


def role_for_scopes(scopes: frozenset[Scope]) -> Role:
    """The narrowest role whose scopes cover the requested ones."""
    for role in (Role.member, Role.developer, Role.admin):
        if scopes <= ROLE_SCOPES[role]:
            return role
    return Role.operator


async def list_keys(session: AsyncSession, principal: Principal) -> list[ApiKey]:
    return await ApiKeyRepository(session, principal.tenant_id).list()


async def create_key(
    session: AsyncSession,
    principal: Principal,
    *,
    name: str,
    scopes: frozenset[Scope],
    expires_at: datetime | None,
    pepper: bytes,
) -> IssuedKey:
    if Scope.platform_admin in scopes or not scopes <= principal.scopes:
        raise ScopeNotGrantable("You can only grant scopes your own credential has.")
    if expires_at is not None and expires_at <= utcnow():
        raise ValidationFailed("expires_at must be in the future")
    tenant = await TenantRepository(session).get(principal.tenant_id)
    assert tenant is not None
    return await issue_key(
        session,
        tenant,
        name=name,
        role=role_for_scopes(scopes),
        scopes=scopes,
        pepper=pepper,
        created_by=principal.actor,
        expires_at=expires_at,
    )


async def _get(session: AsyncSession, principal: Principal, key_id: str) -> ApiKey:
    key = await ApiKeyRepository(session, principal.tenant_id).get(key_id)
    if key is None:
        raise ApiKeyNotFound("No such API key in your tenant.")
    return key


async def revoke_key(session: AsyncSession, principal: Principal, key_id: str) -> ApiKey:
    key = await _get(session, principal, key_id)
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        await session.flush()
    return key


async def rotate_key(
    session: AsyncSession,
    principal: Principal,
    key_id: str,
    *,
    old_key_expires_in_s: int,
    pepper: bytes,
) -> tuple[ApiKey, IssuedKey]:
    """A new key with the same name and scopes; the old one works until its new expiry."""
    old = await _get(session, principal, key_id)
    if old.revoked_at is not None:
        raise ApiKeyNotFound("The API key is revoked.")
    tenant = await TenantRepository(session).get(principal.tenant_id)
    assert tenant is not None
    until = utcnow() + timedelta(seconds=old_key_expires_in_s)
    if old.expires_at is None or old.expires_at > until:
        old.expires_at = until
    issued = await issue_key(
        session,
        tenant,
        name=old.name,
        role=Role(old.role),
        scopes=frozenset(Scope(s) for s in old.scopes),
        pepper=pepper,
        created_by=principal.actor,
    )
    return old, issued


class ApiKeyAuthenticator:
    """`peppers`: one pepper, or a callable giving the ring newest first (rotation)."""

    def __init__(
        self,
        maker: async_sessionmaker[AsyncSession],
        peppers: bytes | Callable[[], list[bytes]],
        *,
        cache_s: float = AUTH_CACHE_TTL_S,
    ) -> None:
        self._maker = maker
        self._cache_s = cache_s
        self._peppers = peppers if callable(peppers) else (lambda: [peppers])
        self._cache: dict[str, tuple[Principal, datetime | None, float]] = {}
        self._last_used: dict[str, datetime] = {}
        self._loading: dict[str, asyncio.Lock] = {}
        self._flusher: asyncio.Task[None] | None = None

    @property
    def pepper(self) -> bytes:
        """The newest pepper: new keys are hashed with it."""
        return self._peppers()[0]

    async def authenticate(self, secret: str) -> Principal:
        if not keys.well_formed(secret):
            raise InvalidApiKey("The API key is malformed.")
        newest, *older = self._peppers()
        key_hash = keys.hash_key(secret, newest)
        now = utcnow()
        cached = self._cache.get(key_hash)
        if cached is not None and cached[2] > monotonic():
            principal, expires_at = cached[0], cached[1]
        else:
            principal, expires_at = await self._load_once(secret, key_hash, older)
        if expires_at is not None and expires_at <= now:
            raise InvalidApiKey("The API key has expired.")
        if principal.key_id is not None:
            self._last_used[principal.key_id] = now
        return principal

    async def _load_once(
        self, secret: str, key_hash: str, older: list[bytes]
    ) -> tuple[Principal, datetime | None]:
        """One database read per uncached key at a time: the checks of a key that arrive while
        it loads (an expiry at c=16) wait for it and take the cached result."""
        lock = self._loading.setdefault(key_hash, asyncio.Lock())
        try:
            async with lock:
                cached = self._cache.get(key_hash)
                if cached is not None and cached[2] > monotonic():
                    return cached[0], cached[1]
                older_hashes = [keys.hash_key(secret, p) for p in older]
                principal, expires_at = await self._load(key_hash, older_hashes)
                self._cache[key_hash] = (principal, expires_at, monotonic() + self._cache_s)
                return principal, expires_at
        finally:
            if self._loading.get(key_hash) is lock and not lock.locked():
                del self._loading[key_hash]

    async def _load(
        self, key_hash: str, older_hashes: list[str]
    ) -> tuple[Principal, datetime | None]:
        async with session_scope(self._maker) as session:
            repo = ApiKeyAuthRepository(session)
            found = await repo.lookup_by_hash(key_hash)
            for old_hash in older_hashes if found is None else []:
                found = await repo.lookup_by_hash(old_hash)
                if found is not None:  # hashed with a pepper being rotated out: re-hash now
                    await repo.rehash(found[0].id, key_hash)
                    log.info("api_key_rehashed", key_id=found[0].id)
                    break
        if found is None:
            raise InvalidApiKey("The API key is not valid.")
        key, tenant = found
        if key.revoked_at is not None:
            raise InvalidApiKey("The API key has been revoked.")
        if tenant.status == TenantStatus.suspended.value:
            raise TenantSuspended(f"Tenant '{tenant.slug}' is suspended.")
        principal = Principal(
            tenant_id=tenant.id,
            tenant_slug=tenant.slug,
            tier=tenant.tier,
            role=Role(key.role),
            scopes=frozenset(Scope(s) for s in key.scopes),
            key_id=key.id,
            subject=f"key:{key.id}",
        )
        return principal, key.expires_at

    def forget(self) -> None:
        """Drop cached verifications (after a revoke, suspend or tier change)."""
        self._cache.clear()

    def start(self) -> None:
        self._flusher = asyncio.create_task(self._flush_loop())

    async def stop(self) -> None:
        if self._flusher is not None:
            self._flusher.cancel()
            await asyncio.gather(self._flusher, return_exceptions=True)
        await self.flush()

    async def flush(self) -> None:
        if not self._last_used:
            return
        pending, self._last_used = self._last_used, {}
        async with session_scope(self._maker) as session:
            await ApiKeyAuthRepository(session).record_last_used(pending)

    async def _flush_loop(self) -> None:
        while True:
            await asyncio.sleep(LAST_USED_FLUSH_S)
            try:
                await self.flush()
            except Exception as exc:  # keep flushing on the next tick
                log.warning("last_used_flush_failed", error_type=type(exc).__name__)

"""Typed auth dependencies. A route without one of these is public.

One path for every credential: `Authorization: Bearer agy_…` is an API key, any other bearer
value is an Entra ID (or dev provider) access token. Failures are audited and throttled by
source address and by what was guessed (identity/throttle.py); role and scope denials are
audited too.
"""

from __future__ import annotations

from typing import Annotated

import structlog
from fastapi import Depends, Request

from agentry.api_keys.keys import PREFIX as KEY_PREFIX
from agentry.audit.service import Outcome
from agentry.identity.principal import Principal, Role, Scope
from agentry.identity.throttle import AuthThrottled, buckets
from agentry.identity.tokens import InvalidToken
from agentry.kit.addresses import client_address, networks
from agentry.kit.errors import Forbidden, NotFound, Unauthorized
from agentry.kit.logging import get_logger
from agentry.platform import Platform, get_platform

log = get_logger("agentry.identity.auth")


class MissingCredentials(Unauthorized):
    code = "missing_credentials"
    title = "Missing credentials"


class MissingScope(Forbidden):
    code = "insufficient_scope"
    title = "The credential lacks a required scope"


class MissingRole(Forbidden):
    code = "insufficient_role"
    title = "The caller's role may not do this"


_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="agentry"'}
# Entra access tokens are a few KB (group overage keeps them small); API keys are 42 chars.
MAX_BEARER_CHARS = 16_384


class CredentialTooLarge(Unauthorized):
    code = "credential_too_large"
    title = "The credential is too large"


def source_address(request: Request) -> str:
    """The caller's address; `X-Forwarded-For` counts only from AGENTRY_TRUSTED_PROXIES."""
    peer = request.client.host if request.client else None
    trusted = networks(get_platform(request).settings.trusted_proxies)
    return client_address(peer, request.headers.get("x-forwarded-for"), trusted)


def bearer_credential(request: Request) -> str:
    """The bearer value, bounded in size; 401 with a challenge when absent or oversized."""
    header = request.headers.get("authorization", "")
    scheme, _, credential = header.partition(" ")
    credential = credential.strip()
    if scheme.lower() != "bearer" or not credential:
        raise MissingCredentials(
            "Send 'Authorization: Bearer <API key or access token>'.", headers=_CHALLENGE
        )
    if len(credential) > MAX_BEARER_CHARS:
        raise CredentialTooLarge(
            f"Bearer credentials are at most {MAX_BEARER_CHARS} characters.",
            headers=dict(_CHALLENGE),
        )
    return credential


async def authenticate(request: Request) -> Principal:
    platform = get_platform(request)
    credential = bearer_credential(request)
    is_key = credential.startswith(KEY_PREFIX)
    try:
        if is_key:
            principal = await platform.authenticator.authenticate(credential)
        elif platform.tokens is not None:
            principal = await platform.tokens.authenticate(credential)
        else:
            raise InvalidToken("Access tokens are not accepted here.")
    except Unauthorized as exc:
        # Verified first, throttled after: a valid credential is never locked out.
        source = source_address(request)
        names = buckets(source, credential, is_key=is_key)
        await _failed(platform, source, names, "api_key" if is_key else "token", exc.code)
        exc.headers.update(_CHALLENGE)
        raise
    request.state.tenant_id = principal.tenant_id
    request.state.principal = principal
    if is_key and principal.is_operator:
        await _break_glass(request, platform, principal)
    structlog.contextvars.bind_contextvars(tenant=principal.tenant_id)
    return principal


async def _failed(
    platform: Platform, source: str, names: list[str], kind: str, reason: str
) -> None:
    if platform.throttle is not None:
        retry = await platform.throttle.retry_after(names)
        await platform.throttle.failed(names)
        if retry is not None:
            raise AuthThrottled(
                "Too many failed authentications for this credential or address.",
                headers={"Retry-After": str(retry), **_CHALLENGE},
            )
    try:
        await platform.audit.append_now(
            actor="anonymous",
            action="auth.failed",
            outcome=Outcome.denied,
            details={"source": source, "credential_kind": kind, "reason": reason},
        )
    except Exception as exc:  # an audit outage must not turn a 401 into a 500
        log.error("audit_append_failed", action="auth.failed", error_type=type(exc).__name__)


async def _break_glass(request: Request, platform: Platform, principal: Principal) -> None:
    """The long-lived operator key is break-glass (`make ops-login` is the daily path): every
    use leaves an audit row, written before the call runs."""
    route = getattr(request.scope.get("route"), "path", None) or request.url.path
    await platform.audit.append_now(
        actor=principal.actor,
        action="operator.break_glass",
        outcome=Outcome.success,
        actor_tenant_id=principal.tenant_id,
        target_tenant_id=principal.tenant_id,
        details={"break_glass": True, "method": request.method, "route": route},
    )


async def _denied(request: Request, principal: Principal, needed: str) -> None:
    # The route template, not the URL: ids in the URL may be another tenant's.
    route = getattr(request.scope.get("route"), "path", None) or "unmatched"
    await get_platform(request).audit.append_now(
        actor=principal.actor,
        action="authz.denied",
        outcome=Outcome.denied,
        actor_tenant_id=principal.tenant_id,
        target_tenant_id=principal.tenant_id,
        details={"method": request.method, "route": route, "needed": needed},
    )


class RequireScope:
    def __init__(self, scope: Scope) -> None:
        self.scope = scope

    async def __call__(
        self, request: Request, principal: Annotated[Principal, Depends(authenticate)]
    ) -> Principal:
        return await require_scope(request, principal, self.scope)


async def require_scope(request: Request, principal: Principal, scope: Scope) -> Principal:
    """`RequireScope` without FastAPI's dependency machinery (invocations/hot.py)."""
    if not principal.has(scope):
        await _denied(request, principal, f"scope:{scope.value}")
        raise MissingScope(f"This call needs the '{scope.value}' scope.")
    return principal


class RequireRole:
    """The caller's role must be one of `roles`. Operators pass only where listed."""

    def __init__(self, *roles: Role, hide: bool = False) -> None:
        self.roles = frozenset(roles)
        # hide=True answers 404 (the route's existence is not revealed to tenants).
        self.hide = hide

    async def __call__(
        self, request: Request, principal: Annotated[Principal, Depends(authenticate)]
    ) -> Principal:
        if principal.role not in self.roles:
            await _denied(request, principal, "role:" + "|".join(sorted(self.roles)))
            if self.hide:
                raise NotFound()
            raise MissingRole("Your role may not call this.")
        return principal


Authenticated = Annotated[Principal, Depends(authenticate)]
Invoker = Annotated[Principal, Depends(RequireScope(Scope.invoke))]
KeyAdmin = Annotated[Principal, Depends(RequireScope(Scope.keys_admin))]
TenantAdmin = Annotated[Principal, Depends(RequireRole(Role.admin))]
Operator = Annotated[Principal, Depends(RequireRole(Role.operator))]

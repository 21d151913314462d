"""Typed auth dependencies. A route without one of these is public."""

from __future__ import annotations

from typing import Annotated

import structlog
from fastapi import Depends, Request

from agentry.identity.principal import Principal, Scope
from agentry.kit.errors import Forbidden, Unauthorized
from agentry.platform import get_platform


class MissingCredentials(Unauthorized):
    code = "missing_credentials"
    title = "Missing credentials"


class MissingScope(Forbidden):
    code = "insufficient_scope"
    title = "The credential lacks a required scope"


_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="agentry"'}


async def authenticate(request: Request) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, credential = header.partition(" ")
    if scheme.lower() != "bearer" or not credential.strip():
        raise MissingCredentials("Send 'Authorization: Bearer <API key>'.", headers=_CHALLENGE)
    try:
        principal = await get_platform(request).authenticator.authenticate(credential.strip())
    except Unauthorized as exc:
        exc.headers.update(_CHALLENGE)
        raise
    request.state.tenant_id = principal.tenant_id
    structlog.contextvars.bind_contextvars(tenant=principal.tenant_id)
    return principal


class RequireScope:
    def __init__(self, scope: Scope) -> None:
        self.scope = scope

    async def __call__(self, principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
        if not principal.has(self.scope):
            raise MissingScope(f"This call needs the '{self.scope.value}' scope.")
        return principal


Authenticated = Annotated[Principal, Depends(authenticate)]
Invoker = Annotated[Principal, Depends(RequireScope(Scope.invoke))]

"""Policy sets through the API: a tenant admin manages the tenant's set (`/v1/policies`), an
operator the platform's (`/v1/admin/policies`). The same routes on both; every change audited."""

# No `from __future__ import annotations`: the routes are built in a function, and FastAPI
# must see the local `Caller` type, not its name.

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import PlainTextResponse

from agentry.identity.auth import RequireRole
from agentry.identity.principal import Principal, Role
from agentry.kit.openapi import problem_responses
from agentry.models.policy import PLATFORM_SCOPE
from agentry.platform import DbSession
from agentry.policy.engine import schema_text
from agentry.policy.schemas import (
    PolicyPublish,
    PolicyRollback,
    PolicySetRead,
    PolicyVersionRead,
    PolicyVersionText,
)
from agentry.policy.service import Actor, PolicyService

router = APIRouter(prefix="/v1/policies", tags=["policies"])
admin_router = APIRouter(prefix="/v1/admin/policies", tags=["admin"])
Number = Annotated[int, Path(ge=1, le=1_000_000)]


def policies(request: Request) -> PolicyService:
    found: PolicyService = request.app.state.policies
    return found


def _routes(
    r: APIRouter, caller: Any, scope_of: Callable[[Principal], str], who_label: str
) -> None:
    Caller = Annotated[Principal, Depends(caller)]

    def actor(p: Principal) -> Actor:
        return Actor(p.actor, p.tenant_id)

    @r.get(
        "",
        response_model=PolicySetRead,
        summary=f"The {who_label} policy set and its versions",
        responses=problem_responses(401, 403),
    )
    async def get_set(request: Request, p: Caller, session: DbSession) -> dict[str, Any]:
        return await policies(request).state(session, scope_of(p))

    @r.get(
        "/schema",
        response_class=PlainTextResponse,
        summary="The Cedar schema policies use",
        responses=problem_responses(401, 403),
    )
    async def get_schema(_p: Caller) -> str:
        return schema_text()

    @r.post(
        "/versions",
        status_code=201,
        response_model=PolicyVersionRead,
        summary=f"Publish a {who_label} policy version (validated; not yet in force)",
        responses=problem_responses(401, 403, 409, 422),
    )
    async def publish(
        request: Request, body: PolicyPublish, p: Caller, session: DbSession
    ) -> dict[str, Any]:
        return await policies(request).publish(
            session, scope_of(p), actor(p), body.text, body.note, body.force
        )

    @r.get(
        "/versions/{policy_version}",
        response_model=PolicyVersionText,
        summary="One version with its text",
        responses=problem_responses(401, 403, 404),
    )
    async def get_version(
        request: Request, policy_version: Number, p: Caller, session: DbSession
    ) -> dict[str, Any]:
        return await policies(request).version(session, scope_of(p), policy_version)

    @r.post(
        "/versions/{policy_version}/shadow",
        response_model=PolicySetRead,
        summary="Run a version in LOG_ONLY mode beside the enforced one",
        responses=problem_responses(401, 403, 404),
    )
    async def shadow(
        request: Request, policy_version: Number, p: Caller, session: DbSession
    ) -> dict[str, Any]:
        return await policies(request).shadow(session, scope_of(p), actor(p), policy_version)

    @r.delete(
        "/shadow",
        response_model=PolicySetRead,
        summary="Stop the LOG_ONLY version",
        responses=problem_responses(401, 403),
    )
    async def stop_shadow(request: Request, p: Caller, session: DbSession) -> dict[str, Any]:
        return await policies(request).shadow(session, scope_of(p), actor(p), None)

    @r.post(
        "/versions/{policy_version}/enforce",
        response_model=PolicySetRead,
        summary="ENFORCE a version (takes effect at once)",
        responses=problem_responses(401, 403, 404),
    )
    async def enforce(
        request: Request, policy_version: Number, p: Caller, session: DbSession
    ) -> dict[str, Any]:
        return await policies(request).enforce(session, scope_of(p), actor(p), policy_version)

    @r.delete(
        "/enforced",
        response_model=PolicySetRead,
        summary="Stop enforcing (nothing of this set decides until a version is enforced)",
        responses=problem_responses(401, 403),
    )
    async def stop_enforcing(request: Request, p: Caller, session: DbSession) -> dict[str, Any]:
        return await policies(request).stop_enforcing(session, scope_of(p), actor(p))

    @r.post(
        "/rollback",
        response_model=PolicySetRead,
        summary="Enforce an earlier version again (default: the one before the current)",
        responses=problem_responses(401, 403, 404, 409, 422),
    )
    async def rollback(
        request: Request, body: PolicyRollback, p: Caller, session: DbSession
    ) -> dict[str, Any]:
        return await policies(request).rollback(session, scope_of(p), actor(p), body.version)


_routes(router, RequireRole(Role.admin), lambda p: p.tenant_id, "tenant's")
_routes(admin_router, RequireRole(Role.operator), lambda _p: PLATFORM_SCOPE, "platform")

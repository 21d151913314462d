"""The marketplace API: developers list agents, operators approve, tenant admins subscribe."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from agentry.identity.auth import Authenticated, Operator, RequireScope, TenantAdmin
from agentry.identity.principal import Principal, Scope
from agentry.kit.openapi import problem_responses
from agentry.marketplace.service import Marketplace
from agentry.platform import DbSession

router = APIRouter(prefix="/v1/marketplace", tags=["marketplace"])
admin_router = APIRouter(prefix="/v1/admin/marketplace", tags=["admin"])
Developer = Annotated[Principal, Depends(RequireScope(Scope.registry_write))]
AgentName = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_]{0,47}$")]
ListingId = Annotated[str, Path(pattern=r"^lst_[0-9a-f]{30}$")]
Tag = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$")]


def market(request: Request) -> Marketplace:
    found: Marketplace = request.app.state.marketplace
    return found


class ListingCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agent: str = Field(pattern=r"^[a-z][a-z0-9_]{0,47}$")
    description: str | None = Field(None, max_length=2000, description="Default: the manifest's.")
    tags: list[Tag] = Field(default_factory=list, max_length=20)
    tier_minimum: Literal["basic", "standard", "premium"] | None = None
    price_hint: str = Field("", max_length=200)


class ListingVersion(BaseModel):
    number: int
    created_at: datetime


class ListingRead(BaseModel):
    id: str
    agent: str
    status: str
    description: str
    tags: list[str]
    skills: list[str]
    tier_minimum: str | None
    price_hint: str
    created_at: datetime
    reviewed_at: datetime | None
    review_note: str
    subscribed: bool | None = None
    mine: bool | None = None
    publisher_tenant_id: str | None = None
    versions: list[ListingVersion] | None = Field(None, description="In the catalogue")


class Review(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str = Field("", max_length=500)


class SubscriptionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agent: str = Field(pattern=r"^[a-z][a-z0-9_]{0,47}$")


class SubscriptionRead(BaseModel):
    agent: str
    created_at: datetime


class SubscriptionList(BaseModel):
    agents: list[str]


@router.get(
    "",
    response_model=list[ListingRead],
    responses=problem_responses(401, 422),
    summary="The catalogue: approved listings, searched by text and tag",
)
async def catalogue(
    request: Request,
    p: Authenticated,
    session: DbSession,
    q: Annotated[str | None, Query(max_length=100)] = None,
    tag: Annotated[str | None, Query(max_length=40)] = None,
) -> list[dict[str, Any]]:
    """Members see only what their tenant subscribes to (or publishes); admins, developers
    and operators see every approved listing, with its versions."""
    return await market(request).catalogue(session, p, q, tag)


@router.post(
    "/listings",
    status_code=201,
    response_model=ListingRead,
    responses=problem_responses(401, 403, 404, 409, 422),
    summary="List an agent in the marketplace (pending until an operator approves)",
)
async def create_listing(
    request: Request, body: ListingCreate, p: Developer, session: DbSession
) -> dict[str, Any]:
    return await market(request).publish(
        session,
        p,
        agent_name=body.agent,
        description=body.description,
        tags=body.tags,
        tier_minimum=body.tier_minimum,
        price_hint=body.price_hint,
    )


@router.get(
    "/listings",
    response_model=list[ListingRead],
    responses=problem_responses(401, 403),
    summary="The listings your tenant publishes, in any status",
)
async def my_listings(request: Request, p: Developer, session: DbSession) -> list[dict[str, Any]]:
    return await market(request).mine(session, p)


@router.delete(
    "/listings/{listing_id}",
    response_model=ListingRead,
    responses=problem_responses(401, 403, 404),
    summary="Withdraw your listing (the agent is a platform agent again)",
)
async def withdraw_listing(
    request: Request, listing_id: ListingId, p: Developer, session: DbSession
) -> dict[str, Any]:
    return await market(request).withdraw(session, p, listing_id)


@router.post(
    "/subscriptions",
    status_code=201,
    response_model=SubscriptionRead,
    responses=problem_responses(401, 403, 409, 422),
    summary="Subscribe your tenant to a listed agent (admins)",
)
async def subscribe(
    request: Request, body: SubscriptionCreate, p: TenantAdmin, session: DbSession
) -> dict[str, Any]:
    return await market(request).subscribe(session, p, body.agent)


@router.get(
    "/subscriptions",
    response_model=SubscriptionList,
    responses=problem_responses(401),
    summary="The listed agents your tenant subscribes to",
)
async def subscriptions(request: Request, p: Authenticated, session: DbSession) -> SubscriptionList:
    return SubscriptionList(agents=await market(request).subscriptions(session, p))


@router.delete(
    "/subscriptions/{agent}",
    status_code=204,
    responses=problem_responses(401, 403, 404),
    summary="Unsubscribe (admins); members can no longer invoke it",
)
async def unsubscribe(
    request: Request, agent: AgentName, p: TenantAdmin, session: DbSession
) -> Response:
    await market(request).unsubscribe(session, p, agent)
    return Response(status_code=204)


@admin_router.get(
    "/listings",
    response_model=list[ListingRead],
    responses=problem_responses(401, 403, 422),
    summary="Every listing (default: pending review)",
)
async def review_queue(
    request: Request,
    _op: Operator,
    session: DbSession,
    status: Literal["pending", "approved", "rejected", "withdrawn"] | None = "pending",
) -> list[dict[str, Any]]:
    return await market(request).pending(session, status)


@admin_router.post(
    "/listings/{listing_id}/approve",
    response_model=ListingRead,
    responses=problem_responses(401, 403, 404, 422),
    summary="Approve a listing: it appears in the catalogue (audited)",
)
async def approve(
    request: Request, listing_id: ListingId, body: Review, p: Operator, session: DbSession
) -> dict[str, Any]:
    return await market(request).review(session, p, listing_id, "approved", body.note)


@admin_router.post(
    "/listings/{listing_id}/reject",
    response_model=ListingRead,
    responses=problem_responses(401, 403, 404, 422),
    summary="Reject a listing (audited)",
)
async def reject(
    request: Request, listing_id: ListingId, body: Review, p: Operator, session: DbSession
) -> dict[str, Any]:
    return await market(request).review(session, p, listing_id, "rejected", body.note)

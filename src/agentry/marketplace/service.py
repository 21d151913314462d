"""Listings, approval, subscriptions, and the entitlement every invocation path checks.

An agent with a pending or approved listing is a marketplace agent: its publisher's tenant
may always invoke it; another tenant only once the listing is approved and it subscribed.
An agent never listed (or withdrawn) stays a platform agent every tenant may invoke, as
before. Entitlements are cached for `ttl_s` (a change in this process applies at once).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agentry.audit.service import AuditLog
from agentry.identity.principal import Principal, Role
from agentry.kit.clock import monotonic, utcnow
from agentry.kit.errors import Conflict, Forbidden, NotFound
from agentry.kit.ids import new_id
from agentry.marketplace.repository import ListingRepository, SubscriptionRepository
from agentry.models import AgentSubscription, MarketplaceListing
from agentry.models.marketplace import GATED, ListingStatus
from agentry.models.tenant import Tier
from agentry.registry.repository import AgentRepository, AgentVersionRepository

TIER_ORDER = {t.value: i for i, t in enumerate(Tier)}


class NotSubscribed(Forbidden):
    code = "not_subscribed"
    title = "Your tenant is not subscribed to this agent"


class ListingNotFound(NotFound):
    code = "listing_not_found"
    title = "No such listing"


class ListingExists(Conflict):
    code = "listing_exists"
    title = "The agent is listed already"


class ListingNotApproved(Conflict):
    code = "listing_not_approved"
    title = "The listing is not approved"


class TierTooLow(Forbidden):
    code = "tier_too_low"
    title = "The listing needs a higher tier"


class AgentNotFoundHere(NotFound):
    code = "agent_not_found"
    title = "No such agent"


@dataclass(frozen=True, slots=True)
class Gate:
    publisher: str
    approved: bool
    agent_name: str


class Entitlements:
    def __init__(self, maker: async_sessionmaker[AsyncSession], ttl_s: float = 2.0) -> None:
        self._maker = maker
        self._ttl_s = ttl_s
        self._gates: tuple[dict[str, Gate], float] | None = None
        self._loading: asyncio.Future[dict[str, Gate]] | None = None
        self._subs: dict[str, tuple[set[str], float]] = {}

    def invalidate(self, tenant_id: str | None = None) -> None:
        self._gates = None
        self._loading = None  # a load started before the change must not be shared
        if tenant_id is None:
            self._subs.clear()
        else:
            self._subs.pop(tenant_id, None)

    async def _gated(self) -> dict[str, Gate]:
        if self._gates is not None and self._gates[1] > monotonic():
            return self._gates[0]
        # One load at a time: the requests that miss together when it expires share it.
        if self._loading is None or self._loading.done():
            self._loading = asyncio.ensure_future(self._load_gates())
        return await asyncio.shield(self._loading)

    async def _load_gates(self) -> dict[str, Gate]:
        async with self._maker() as session:
            rows = await ListingRepository(session).with_agents()
        gates = {
            agent.id: Gate(
                listing.publisher_tenant_id, listing.status == ListingStatus.approved, agent.name
            )
            for listing, agent in rows
            if listing.status in GATED
        }
        self._gates = (gates, monotonic() + self._ttl_s)
        return gates

    async def subscribed(self, tenant_id: str) -> set[str]:
        hit = self._subs.get(tenant_id)
        if hit is not None and hit[1] > monotonic():
            return hit[0]
        async with self._maker() as session:
            ids = await SubscriptionRepository(session, tenant_id).agent_ids()
        self._subs[tenant_id] = (ids, monotonic() + self._ttl_s)
        return ids

    async def allowed(self, tenant_id: str, agent_id: str) -> bool:
        gate = (await self._gated()).get(agent_id)
        if gate is None or gate.publisher == tenant_id:
            return True
        return gate.approved and agent_id in await self.subscribed(tenant_id)

    async def check(self, tenant_id: str, agent_id: str, agent_name: str) -> None:
        if not await self.allowed(tenant_id, agent_id):
            raise NotSubscribed(
                f"Agent '{agent_name}' is a marketplace agent; a tenant admin subscribes to it "
                "(POST /v1/marketplace/subscriptions)."
            )

    async def hidden(self, tenant_id: str) -> set[str]:
        """Names of the agents this tenant may not invoke (for GET /v1/agents)."""
        gates = await self._gated()
        subs = await self.subscribed(tenant_id)
        return {
            g.agent_name
            for a, g in gates.items()
            if g.publisher != tenant_id and not (g.approved and a in subs)
        }


def listing_out(listing: MarketplaceListing, agent_name: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": listing.id,
        "agent": agent_name,
        "status": listing.status,
        "description": listing.description,
        "tags": listing.tags,
        "skills": listing.skills,
        "tier_minimum": listing.tier_minimum,
        "price_hint": listing.price_hint,
        "created_at": listing.created_at,
        "reviewed_at": listing.reviewed_at,
        "review_note": listing.review_note,
        **extra,
    }


class Marketplace:
    def __init__(self, entitlements: Entitlements, audit: AuditLog) -> None:
        self.entitlements = entitlements
        self._audit = audit

    async def publish(
        self,
        session: AsyncSession,
        p: Principal,
        *,
        agent_name: str,
        description: str | None,
        tags: list[str],
        tier_minimum: str | None,
        price_hint: str,
    ) -> dict[str, Any]:
        agent = await AgentRepository(session).get_by_name(agent_name)
        if agent is None:
            raise AgentNotFoundHere(f"No agent named '{agent_name}'.")
        listings = ListingRepository(session)
        existing = await listings.by_agent(agent.id)
        if existing is not None and existing.status in GATED:
            raise ListingExists(f"Agent '{agent_name}' is listed already ({existing.status}).")
        versions = await AgentVersionRepository(session).list_for_agent(agent.id)
        manifest = versions[-1].manifest if versions else {}
        skills = sorted({*(manifest.get("modes") or []), *(manifest.get("tools") or [])})
        now = utcnow()
        if existing is not None:  # a withdrawn or rejected listing is published again
            await session.delete(existing)
            await session.flush()
        listing = MarketplaceListing(
            id=new_id("lst"),
            agent_id=agent.id,
            publisher_tenant_id=p.tenant_id,
            status=ListingStatus.pending.value,
            description=description or agent.description or str(manifest.get("description", "")),
            tags=sorted(set(tags)),
            skills=skills,
            tier_minimum=tier_minimum,
            price_hint=price_hint,
            created_by=p.actor,
            created_at=now,
        )
        await listings.add(listing)
        await self._audit.append(
            session,
            actor=p.actor,
            action="marketplace.listing.create",
            actor_tenant_id=p.tenant_id,
            target_tenant_id=p.tenant_id,
            details={"listing_id": listing.id, "agent": agent_name},
        )
        self.entitlements.invalidate()
        return listing_out(listing, agent.name)

    async def mine(self, session: AsyncSession, p: Principal) -> list[dict[str, Any]]:
        rows = await ListingRepository(session).with_agents(publisher=p.tenant_id)
        return [listing_out(listing, agent.name) for listing, agent in rows]

    async def _listing(self, session: AsyncSession, listing_id: str) -> MarketplaceListing:
        found = await ListingRepository(session).get(listing_id)
        if found is None:
            raise ListingNotFound(f"No listing '{listing_id}'.")
        return found

    async def review(
        self, session: AsyncSession, p: Principal, listing_id: str, status: str, note: str
    ) -> dict[str, Any]:
        listing = await self._listing(session, listing_id)
        before = listing.status
        listing.status, listing.review_note = status, note
        listing.reviewed_by, listing.reviewed_at = p.actor, utcnow()
        await session.flush()
        await self._audit.append(
            session,
            actor=p.actor,
            action=f"marketplace.listing.{status}",
            actor_tenant_id=p.tenant_id,
            target_tenant_id=listing.publisher_tenant_id,
            details={"listing_id": listing.id, "from": before, "to": status, "note": note},
        )
        self.entitlements.invalidate()
        agent = await AgentRepository(session).get(listing.agent_id)
        return listing_out(listing, agent.name if agent else listing.agent_id)

    async def withdraw(
        self, session: AsyncSession, p: Principal, listing_id: str
    ) -> dict[str, Any]:
        listing = await self._listing(session, listing_id)
        if listing.publisher_tenant_id != p.tenant_id and not p.is_operator:
            raise ListingNotFound(f"No listing '{listing_id}'.")
        return await self.review(session, p, listing_id, ListingStatus.withdrawn.value, "")

    async def pending(self, session: AsyncSession, status: str | None) -> list[dict[str, Any]]:
        rows = await ListingRepository(session).with_agents(status=status)
        return [
            listing_out(listing, agent.name, publisher_tenant_id=listing.publisher_tenant_id)
            for listing, agent in rows
        ]

    async def catalogue(
        self, session: AsyncSession, p: Principal, q: str | None, tag: str | None
    ) -> list[dict[str, Any]]:
        rows = await ListingRepository(session).with_agents(status=ListingStatus.approved.value)
        subs = await SubscriptionRepository(session, p.tenant_id).agent_ids()
        versions: dict[str, list[dict[str, Any]]] = {}
        numbers = await AgentVersionRepository(session).numbers_for_agents([a.id for _, a in rows])
        for agent_id, number, created_at in numbers:
            versions.setdefault(agent_id, []).append({"number": number, "created_at": created_at})
        needle = (q or "").lower()
        out = []
        for listing, agent in rows:
            text = f"{agent.name} {listing.description}".lower()
            if needle and needle not in text:
                continue
            if tag and tag not in listing.tags:
                continue
            mine = listing.publisher_tenant_id == p.tenant_id
            if p.role is Role.member and not (mine or agent.id in subs):
                continue  # members browse what their admins subscribed to
            out.append(
                listing_out(
                    listing,
                    agent.name,
                    subscribed=agent.id in subs,
                    mine=mine,
                    versions=versions.get(agent.id, []),
                )
            )
        return out

    async def subscribe(
        self, session: AsyncSession, p: Principal, agent_name: str
    ) -> dict[str, Any]:
        agent = await AgentRepository(session).get_by_name(agent_name)
        listing = await ListingRepository(session).by_agent(agent.id) if agent else None
        if agent is None or listing is None or listing.status != ListingStatus.approved:
            raise ListingNotApproved(f"Agent '{agent_name}' has no approved listing.")
        if listing.tier_minimum and TIER_ORDER[p.tier] < TIER_ORDER[listing.tier_minimum]:
            raise TierTooLow(f"'{agent_name}' needs the {listing.tier_minimum} tier or higher.")
        subs = SubscriptionRepository(session, p.tenant_id)
        found = await subs.for_agent(agent.id)
        if found is None:
            found = AgentSubscription(
                id=new_id("sub"),
                tenant_id=p.tenant_id,
                agent_id=agent.id,
                created_by=p.actor,
                created_at=utcnow(),
            )
            await subs.add(found)
            await self._audit.append(
                session,
                actor=p.actor,
                action="marketplace.subscribe",
                actor_tenant_id=p.tenant_id,
                target_tenant_id=p.tenant_id,
                details={"agent": agent_name},
            )
        self.entitlements.invalidate(p.tenant_id)
        return {"agent": agent_name, "created_at": found.created_at}

    async def unsubscribe(self, session: AsyncSession, p: Principal, agent_name: str) -> None:
        agent = await AgentRepository(session).get_by_name(agent_name)
        subs = SubscriptionRepository(session, p.tenant_id)
        found = await subs.for_agent(agent.id) if agent else None
        if found is None:
            raise NotFound(f"Not subscribed to '{agent_name}'.")
        await subs.remove(found)
        await self._audit.append(
            session,
            actor=p.actor,
            action="marketplace.unsubscribe",
            actor_tenant_id=p.tenant_id,
            target_tenant_id=p.tenant_id,
            details={"agent": agent_name},
        )
        self.entitlements.invalidate(p.tenant_id)

    async def subscriptions(self, session: AsyncSession, p: Principal) -> list[str]:
        ids = await SubscriptionRepository(session, p.tenant_id).agent_ids()
        agents = await AgentRepository(session).list_all()
        return sorted(a.name for a in agents if a.id in ids)

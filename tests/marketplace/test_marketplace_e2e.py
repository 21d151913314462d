"""The marketplace on the real stack with fresh tenants: a publisher lists an agent, the
operator approves it, a subscriber's admin subscribes; entitlement gates invocation (sync and
A2A delegation) and GET /v1/agents; another tenant stays out."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from agentry.api_keys.service import issue_key
from agentry.identity.principal import Role
from agentry.kit.db.engine import create_engine, create_sessionmaker, session_scope
from agentry.models import Tenant
from agentry.testing.stack import Stack
from tests.policy.test_hops_e2e import audit, db_url, fresh_tenant

pytestmark = pytest.mark.e2e
AGENT = "summariser"


def tenant_key(stack: Stack, tenant_id: str, role: Role) -> str:
    async def issue() -> str:
        engine = create_engine(db_url(stack))
        try:
            async with session_scope(create_sessionmaker(engine)) as session:
                tenant = await session.get(Tenant, tenant_id)
                assert tenant is not None
                pepper = (stack.home / "pepper").read_text().strip().encode()
                issued = await issue_key(session, tenant, name=role.value, role=role, pepper=pepper)
                return issued.secret
        finally:
            await engine.dispose()

    return asyncio.run(issue())


def invoke(stack: Stack, key: str) -> Any:
    with stack.client(key) as c:
        return c.post(f"/v1/agents/{AGENT}/invoke", json={"input": {"text": "one two three"}})


def agents(stack: Stack, key: str) -> set[str]:
    with stack.client(key) as c:
        return {a["name"] for a in c.get("/v1/agents").json()["items"]}


@pytest.fixture
def listing(stack: Stack) -> Iterator[dict[str, Any]]:
    publisher_id, developer = fresh_tenant(stack, role=Role.developer)
    with stack.client(developer) as c:
        r = c.post(
            "/v1/marketplace/listings",
            json={"agent": AGENT, "tags": ["text", "summary"], "price_hint": "0.01 per call"},
        )
        assert r.status_code == 201, r.text
        made = r.json()
        again = c.post("/v1/marketplace/listings", json={"agent": AGENT})
        assert (again.status_code, again.json()["code"]) == (409, "listing_exists")
    yield {**made, "developer": developer, "publisher_id": publisher_id}
    with stack.client(stack.operator_key) as c:  # the agent is a platform agent again
        assert c.delete(f"/v1/marketplace/listings/{made['id']}").status_code == 200


def test_listing_approval_subscription_and_entitlement(
    stack: Stack, listing: dict[str, Any]
) -> None:
    subscriber_id, subscriber = fresh_tenant(stack)
    _, other = fresh_tenant(stack)
    assert listing["status"] == "pending"
    assert listing["skills"] == ["stream", "sync"]
    # Pending: only the publisher's tenant may use it; it is in no catalogue yet.
    assert invoke(stack, listing["developer"]).status_code == 200
    r = invoke(stack, subscriber)
    assert (r.status_code, r.json()["code"]) == (403, "not_subscribed")
    with stack.client(subscriber) as c:
        assert c.get("/v1/marketplace").json() == []
        r = c.post("/v1/marketplace/subscriptions", json={"agent": AGENT})
        assert (r.status_code, r.json()["code"]) == (409, "listing_not_approved")
    with stack.client(listing["developer"]) as c:
        mine = c.get("/v1/marketplace/listings").json()
        assert [m["id"] for m in mine] == [listing["id"]]
    with stack.client(subscriber) as c:
        r = c.get("/v1/marketplace/listings")
        assert r.status_code == 403  # a tenant admin is not a publisher
    _, rival = fresh_tenant(stack, role=Role.developer)
    with stack.client(rival) as c:
        assert c.get("/v1/marketplace/listings").json() == []  # not another tenant's
        r = c.delete(f"/v1/marketplace/listings/{listing['id']}")
        assert (r.status_code, r.json()["code"]) == (404, "listing_not_found")

    # The operator approves; tenants can find it by text and tag.
    with stack.client(subscriber) as c:
        assert (
            c.post(f"/v1/admin/marketplace/listings/{listing['id']}/approve", json={}).status_code
            == 403
        )
    with stack.client(stack.operator_key) as c:
        queue = c.get("/v1/admin/marketplace/listings").json()
        assert listing["id"] in [q["id"] for q in queue]
        r = c.post(f"/v1/admin/marketplace/listings/{listing['id']}/approve", json={"note": "ok"})
        assert r.json()["status"] == "approved"
    with stack.client(subscriber) as c:
        found = c.get("/v1/marketplace", params={"q": "summar", "tag": "summary"}).json()
        assert [(f["agent"], f["subscribed"]) for f in found] == [(AGENT, False)]
        assert [v["number"] for v in found[0]["versions"]] == [1]  # the seed pushed one
        assert c.get("/v1/marketplace", params={"tag": "nope"}).json() == []
    colleague = tenant_key(stack, subscriber_id, Role.member)  # same tenant, not an admin
    with stack.client(colleague) as c:
        assert c.get("/v1/marketplace").json() == []  # members see subscribed agents only
    assert AGENT not in agents(stack, subscriber)
    assert invoke(stack, subscriber).status_code == 403

    # A member may not subscribe; the admin does; members then see and invoke it.
    _, member = fresh_tenant(stack, role=Role.member)
    with stack.client(member) as c:
        assert c.post("/v1/marketplace/subscriptions", json={"agent": AGENT}).status_code == 403
    with stack.client(subscriber) as c:
        r = c.post("/v1/marketplace/subscriptions", json={"agent": AGENT})
        assert r.status_code == 201, r.text
        assert c.get("/v1/marketplace/subscriptions").json()["agents"] == [AGENT]
        assert c.get("/v1/marketplace").json()[0]["subscribed"] is True
    with stack.client(colleague) as c:
        assert [f["agent"] for f in c.get("/v1/marketplace").json()] == [AGENT]
    assert AGENT in agents(stack, subscriber)
    assert invoke(stack, subscriber).status_code == 200

    # The other tenant is still out, directly and through an agent's delegation (A2A).
    assert AGENT not in agents(stack, other)
    assert invoke(stack, other).json()["code"] == "not_subscribed"
    with stack.client(other) as c:
        r = c.post("/v1/agents/researcher/invoke", json={"input": {"topic": "x"}})
    child = r.json()["output"]["delegated"]
    assert (child["status"], child["code"]) == (403, "not_subscribed")
    with stack.client(subscriber) as c:
        r = c.post("/v1/agents/researcher/invoke", json={"input": {"topic": "x"}})
    assert r.json()["output"]["delegated"]["status"] == 200

    # Unsubscribed: out again.
    with stack.client(subscriber) as c:
        assert c.delete(f"/v1/marketplace/subscriptions/{AGENT}").status_code == 204
        assert c.delete(f"/v1/marketplace/subscriptions/{AGENT}").status_code == 404
    assert invoke(stack, subscriber).status_code == 403
    with stack.client(colleague) as c:
        assert c.get("/v1/marketplace").json() == []
    actions = {(e.action, e.actor_tenant_id) for e in audit(stack, "marketplace.subscribe")}
    assert ("marketplace.subscribe", subscriber_id) in actions
    assert [e.details["to"] for e in audit(stack, "marketplace.listing.approved")][-1:] == [
        "approved"
    ]


def test_tier_minimum_and_rejection(stack: Stack) -> None:
    _, developer = fresh_tenant(stack, role=Role.developer)
    _, basic = fresh_tenant(stack, tier="basic")
    with stack.client(developer) as c:
        made = c.post(
            "/v1/marketplace/listings", json={"agent": AGENT, "tier_minimum": "premium"}
        ).json()
    try:
        with stack.client(stack.operator_key) as c:
            c.post(f"/v1/admin/marketplace/listings/{made['id']}/approve", json={})
        with stack.client(basic) as c:
            r = c.post("/v1/marketplace/subscriptions", json={"agent": AGENT})
            assert (r.status_code, r.json()["code"]) == (403, "tier_too_low")
        with stack.client(stack.operator_key) as c:
            r = c.post(f"/v1/admin/marketplace/listings/{made['id']}/reject", json={"note": "no"})
            assert r.json()["status"] == "rejected"
        assert invoke(stack, basic).status_code == 200  # rejected: a platform agent again
    finally:
        with stack.client(stack.operator_key) as c:
            c.delete(f"/v1/marketplace/listings/{made['id']}")

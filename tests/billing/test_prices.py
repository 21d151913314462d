"""The price book as data: lookup by time and model, never retroactive, changes audited."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select

from agentry.billing.prices import EPOCH, PriceBook, PriceEntry
from agentry.identity.principal import Role
from agentry.kit.clock import utcnow
from agentry.models import AuditEvent
from agentry.testing.inproc import InProcApp

T0 = datetime(2026, 11, 15, tzinfo=UTC)


def _book() -> PriceBook:
    return PriceBook(
        [
            PriceEntry("p1", "basic", "input_tokens", "", Decimal("0.000002"), EPOCH, T0),
            PriceEntry("p2", "basic", "input_tokens", "", Decimal("0.000003"), T0, None),
            PriceEntry("p3", "basic", "input_tokens", "big-model", Decimal("0.00001"), EPOCH, None),
        ]
    )


def test_the_price_in_force_at_the_events_time_applies() -> None:
    book = _book()
    before = book.price("basic", "input_tokens", at=T0 - timedelta(microseconds=1))
    at_change = book.price("basic", "input_tokens", at=T0)
    assert (before.amount, before.id) == (Decimal("0.000002"), "p1")
    assert (at_change.amount, at_change.id) == (Decimal("0.000003"), "p2")


def test_a_models_own_price_wins_and_unknown_prices_are_free() -> None:
    book = _book()
    assert book.price("basic", "input_tokens", model="big-model", at=T0).id == "p3"
    assert book.price("basic", "input_tokens", model="other", at=T0).id == "p2"
    free = book.price("premium", "input_tokens", at=T0)
    assert (free.amount, free.id) == (Decimal(0), None)


async def test_seeded_book_schedule_a_change_and_refused_changes(billing_api: InProcApp) -> None:
    api = billing_api
    op = (await api.key(await api.tenant("ops"), Role.operator)).secret
    start = (utcnow() + timedelta(hours=1)).isoformat()
    async with api.client(op) as c:
        book = (await c.get("/v1/admin/billing/prices")).json()
        assert book["currency"] == "USD"
        seeded = {(p["tier"], p["kind"]): p for p in book["items"]}
        assert seeded[("basic", "input_tokens")]["unit_price"] == "0.000002000"
        assert len(seeded) == 12

        body = {"tier": "basic", "kind": "input_tokens", "unit_price": "0.0000025"}
        made = await c.post("/v1/admin/billing/prices", json={**body, "effective_from": start})
        assert made.status_code == 201, made.text
        new_id = made.json()["id"]

        bad = [
            ({**body, "unit_price": "-0.1", "effective_from": start}, 422, "invalid_price"),
            ({**body, "unit_price": "cheap", "effective_from": start}, 422, "invalid_price"),
            ({**body, "unit_price": "0.0000000001", "effective_from": start}, 422, "invalid_price"),
            ({**body, "effective_from": "2020-01-01T00:00:00Z"}, 422, "price_retroactive"),
            ({**body, "effective_from": start}, 409, "price_overlap"),
            ({**body, "tier": "gold", "effective_from": start}, 422, "unknown_tier"),
            ({**body, "kind": "gpu_hours", "effective_from": start}, 422, "unknown_usage_kind"),
        ]
        for payload, status, code in bad:
            r = await c.post("/v1/admin/billing/prices", json=payload)
            assert (r.status_code, r.json()["code"]) == (status, code), (payload, r.text)
            assert r.headers["content-type"].startswith("application/problem+json")

        after = (await c.get("/v1/admin/billing/prices")).json()["items"]
    rows = {p["id"]: p for p in after if p["tier"] == "basic" and p["kind"] == "input_tokens"}
    assert len(rows) == 2  # nothing half-written by the refused changes
    old = next(p for p in rows.values() if p["id"] != new_id)
    assert old["effective_to"] is not None  # closed where the new one starts
    # This process applies the change from its first instant.
    at = datetime.fromisoformat(start)
    assert api.platform.prices.price("basic", "input_tokens", at=at).id == new_id
    assert (
        api.platform.prices.price("basic", "input_tokens", at=at - timedelta(seconds=1)).id
        == old["id"]
    )

    async with api.platform.sessionmaker() as s:
        audited = (
            (await s.execute(select(AuditEvent).where(AuditEvent.action == "billing.price_set")))
            .scalars()
            .all()
        )
    assert [a.details["price_id"] for a in audited] == [new_id]


async def test_the_lead_time_is_enforced_by_default(api: InProcApp) -> None:
    op = (await api.key(await api.tenant("ops"), Role.operator)).secret
    soon = (utcnow() + timedelta(seconds=5)).isoformat()
    async with api.client(op) as c:
        r = await c.post(
            "/v1/admin/billing/prices",
            json={"tier": "basic", "kind": "tool_call", "unit_price": "1", "effective_from": soon},
        )
    assert (r.status_code, r.json()["code"]) == (422, "price_retroactive")


async def test_tenants_see_their_tiers_prices_and_cannot_change_them(api: InProcApp) -> None:
    basic = await api.tenant("acme", tier="basic")
    admin = (await api.key(basic, Role.admin)).secret
    async with api.client(admin) as c:
        mine = (await c.get("/v1/billing/prices")).json()["items"]
        refused = await c.post("/v1/admin/billing/prices", json={})
    assert {p["tier"] for p in mine} == {"basic"}
    assert refused.status_code == 403

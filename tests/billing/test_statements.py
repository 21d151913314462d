"""Statements: lines by agent, model, kind and unit price; adjustments; exact totals; two
tenants never see each other's lines; bad months and adjustments refused."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import select

from agentry.billing.months import Month
from agentry.identity.principal import Role
from agentry.models import AuditEvent
from agentry.testing.inproc import InProcApp
from tests.billing.helpers import record

NOV = datetime(2026, 11, 3, 10, tzinfo=UTC)
NOV_LAST = datetime(2026, 11, 30, 23, 59, 59, 999999, tzinfo=UTC)
DEC = datetime(2026, 12, 1, tzinfo=UTC)


async def test_statement_lines_totals_and_isolation(billing_api: InProcApp) -> None:
    api = billing_api
    acme, globex = await api.tenant("acme"), await api.tenant("globex", tier="basic")
    maker, book = api.platform.sessionmaker, api.platform.prices
    use = [
        (acme, "premium", "a1", "input_tokens", 1000, NOV, "local-large"),
        (acme, "premium", "a2", "input_tokens", 500, NOV_LAST, "local-large"),
        (acme, "premium", "a3", "output_tokens", 300, NOV, "local-large"),
        (acme, "premium", "a4", "tool_call", 3, NOV, None),
        (acme, "premium", "a5", "tool_call", 7, DEC, None),  # December: not on November's
        (globex, "basic", "g1", "tool_call", 11, NOV, None),
    ]
    for tenant, tier, key, kind, qty, at, model in use:
        assert await record(
            maker,
            book,
            tenant_id=tenant.id,
            tier=tier,
            key=key,
            kind=kind,
            quantity=qty,
            at=at,
            model=model,
        )
    # A retried event (same idempotency key) is billed once.
    assert not await record(
        maker,
        book,
        tenant_id=acme.id,
        tier="premium",
        key="a4",
        kind="tool_call",
        quantity=3,
        at=NOV,
    )
    op = (await api.key(await api.tenant("ops"), Role.operator)).secret
    async with api.client(op) as c:
        credit = await c.post(
            f"/v1/admin/tenants/{acme.id}/billing/adjustments",
            json={"month": "2026-11", "amount": "-0.001", "reason": "outage credit INC-88"},
        )
        assert credit.status_code == 201, credit.text
        for body, code in (
            ({"month": "2026-11", "amount": "-1", "reason": " "}, "reason_required"),
            ({"month": "2026-11", "amount": "lots", "reason": "x"}, "invalid_amount"),
            ({"month": "2026-11", "amount": "0", "reason": "x"}, "invalid_amount"),
            ({"month": "2099-01", "amount": "1", "reason": "x"}, "month_in_future"),
            ({"month": "2026-13", "amount": "1", "reason": "x"}, "invalid_month"),
        ):
            r = await c.post(f"/v1/admin/tenants/{acme.id}/billing/adjustments", json=body)
            assert (r.status_code, r.json()["code"]) == (422, code), body
        every = (await c.get("/v1/admin/billing/statements/2026-11")).json()

    member = (await api.key(acme, Role.member)).secret
    async with api.client(member) as c:
        r = await c.get("/v1/billing/statements/2026-11")
        assert r.status_code == 200, r.text
        s = r.json()
        assert (await c.get("/v1/billing/statements/2099-01")).json()["code"] == "month_in_future"
        assert (await c.get("/v1/billing/statements/nov")).json()["code"] == "invalid_month"
        assert (
            await c.post(
                f"/v1/admin/tenants/{acme.id}/billing/adjustments",
                json={"month": "2026-11", "amount": "-5", "reason": "self-service credit"},
            )
        ).status_code == 403

    assert s["tenant_id"] == acme.id
    assert globex.id not in r.text
    assert s["final"] is True
    lines = {(x["kind"], x["model"]): x for x in s["lines"]}
    assert set(lines) == {
        ("input_tokens", "local-large"),
        ("output_tokens", "local-large"),
        ("tool_call", ""),
    }
    tokens = lines[("input_tokens", "local-large")]
    assert (tokens["quantity"], tokens["events"]) == (1500, 2)  # the 30th at 23:59:59.999999 counts
    assert Decimal(tokens["unit_price"]) == Decimal("0.000001")
    assert Decimal(tokens["amount"]) == Decimal("0.0015")
    assert lines[("tool_call", "")]["quantity"] == 3  # not December's 7, not the retry's 3
    usage = Decimal("0.0015") + Decimal("0.0009") + Decimal("0.0015")
    assert Decimal(s["usage_total"]) == usage
    assert Decimal(s["adjustments_total"]) == Decimal("-0.001")
    assert Decimal(s["total"]) == usage - Decimal("0.001")
    assert s["total_due"] == "0.00"  # 0.0029 rounded to cents, half up
    assert s["adjustments"][0]["reason"] == "outage credit INC-88"
    assert len(s["daily"]) == 30
    assert Decimal(s["daily"][2]["amount"]) == Decimal("0.0034")  # 3 November
    assert sum(Decimal(d["amount"]) for d in s["daily"]) == usage

    by_tenant = {x["tenant_slug"]: x for x in every["items"]}
    assert Decimal(by_tenant["globex"]["usage_total"]) == Decimal("0.011")
    # The operators' one-pass run gives each tenant exactly its own statement.
    assert by_tenant["acme"] == s
    async with api.platform.sessionmaker() as session:
        audited = (
            (
                await session.execute(
                    select(AuditEvent).where(AuditEvent.action == "billing.adjustment")
                )
            )
            .scalars()
            .all()
        )
    assert [a.details["reason"] for a in audited] == ["outage credit INC-88"]


async def test_the_running_month_is_not_final(billing_api: InProcApp) -> None:
    acme = await billing_api.tenant("acme")
    key = (await billing_api.key(acme, Role.member)).secret
    async with billing_api.client(key) as c:
        s = (await c.get(f"/v1/billing/statements/{Month.current()}")).json()
    assert s["final"] is False
    assert s["lines"] == []
    assert s["total_due"] == "0.00"


def test_months() -> None:
    assert str(Month.parse("2026-12").next()) == "2027-01"
    assert Month.parse("2026-02").end == datetime(2026, 3, 1, tzinfo=UTC)
    assert len(Month.parse("2028-02").days()) == 29

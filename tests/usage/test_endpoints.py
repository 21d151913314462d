"""`GET /v1/usage` and `GET /v1/admin/usage` on both databases: windows, grouping, cost,
tenant isolation and bad input."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from agentry.identity.principal import Role
from agentry.kit.db.engine import session_scope
from agentry.metering.repository import UsageRepository
from agentry.testing.inproc import InProcApp

DAY1 = datetime(2026, 11, 1, 12, tzinfo=UTC)
DAY2 = datetime(2026, 11, 2, 12, tzinfo=UTC)


async def _usage(
    api: InProcApp, tenant_id: str, key: str, kind: str, qty: int, price: str, at: datetime
) -> None:
    async with session_scope(api.platform.sessionmaker) as session:
        await UsageRepository(session, tenant_id).insert_once(
            {
                "tenant_id": tenant_id,
                "agent_id": "concierge",
                "version_number": 1,
                "invocation_id": f"inv_{key}",
                "kind": kind,
                "model": "local-large" if kind.endswith("tokens") else None,
                "quantity": qty,
                "unit_price": Decimal(price),
                "cost": Decimal(price) * qty,
                "idempotency_key": key,
                "at": at,
            }
        )


async def test_tenant_report_windows_groups_and_costs(api: InProcApp) -> None:
    acme, globex = await api.tenant("acme"), await api.tenant("globex", tier="basic")
    await _usage(api, acme.id, "a1", "input_tokens", 100, "0.001", DAY1)
    await _usage(api, acme.id, "a2", "tool_call", 2, "0.01", DAY1)
    await _usage(api, acme.id, "a3", "input_tokens", 50, "0.001", DAY2)
    await _usage(api, globex.id, "g1", "input_tokens", 7, "0.002", DAY1)
    key = (await api.key(acme, Role.member)).secret
    async with api.client(key) as c:
        everything = await c.get(
            "/v1/usage", params={"from": "2026-10-01T00:00:00Z", "to": "2026-12-01T00:00:00Z"}
        )
        assert everything.status_code == 200, everything.text
        lines = {(x["key"], x["kind"]): x for x in everything.json()["lines"]}
        assert lines[("concierge", "input_tokens")]["quantity"] == 150  # never globex's 7
        assert Decimal(lines[("concierge", "tool_call")]["cost"]) == Decimal("0.02")
        assert Decimal(everything.json()["total_cost"]) == Decimal("0.17")

        first_day = await c.get(
            "/v1/usage",
            params={"from": "2026-11-01T00:00:00Z", "to": "2026-11-02T00:00:00Z"},
        )
        tokens = [x for x in first_day.json()["lines"] if x["kind"] == "input_tokens"]
        assert [x["quantity"] for x in tokens] == [100]  # `to` is exclusive of the second day

        by_day = await c.get(
            "/v1/usage",
            params={
                "group_by": "day",
                "from": "2026-10-01T00:00:00Z",
                "to": "2026-12-01T00:00:00Z",
            },
        )
        days = {(x["key"], x["kind"]): x["quantity"] for x in by_day.json()["lines"]}
        assert days[("2026-11-01", "input_tokens")] == 100
        assert days[("2026-11-02", "input_tokens")] == 50
        by_model = await c.get(
            "/v1/usage",
            params={
                "group_by": "model",
                "from": "2026-10-01T00:00:00Z",
                "to": "2026-12-01T00:00:00Z",
            },
        )
        assert {x["key"] for x in by_model.json()["lines"] if x["kind"] == "input_tokens"} == {
            "local-large"
        }


async def test_operator_report_spans_tenants_and_filters_one(api: InProcApp) -> None:
    acme, globex = await api.tenant("acme"), await api.tenant("globex", tier="basic")
    ops = await api.tenant("ops")
    await _usage(api, acme.id, "a1", "input_tokens", 100, "0.001", DAY1)
    await _usage(api, globex.id, "g1", "input_tokens", 7, "0.002", DAY1)
    window = {"from": "2026-10-01T00:00:00Z", "to": "2026-12-01T00:00:00Z"}
    async with api.client((await api.key(ops, Role.operator)).secret) as c:
        report = (await c.get("/v1/admin/usage", params=window)).json()
        per_tenant = {x["key"]: x["quantity"] for x in report["lines"]}
        assert per_tenant == {acme.id: 100, globex.id: 7}
        one = (await c.get("/v1/admin/usage", params={**window, "tenant_id": globex.id})).json()
        assert [x["quantity"] for x in one["lines"]] == [7]
    async with api.client((await api.key(acme, Role.admin)).secret) as c:
        refused = await c.get("/v1/admin/usage", params=window)
        assert refused.status_code == 403
        assert refused.json()["code"] == "insufficient_scope"


async def test_bad_report_requests_are_422_problems(api: InProcApp) -> None:
    acme = await api.tenant("acme")
    async with api.client((await api.key(acme, Role.member)).secret) as c:
        for params in (
            {"from": "2026-11-01T00:00:00"},  # no time zone
            {"from": "2026-11-02T00:00:00Z", "to": "2026-11-01T00:00:00Z"},  # backwards
            {"group_by": "tenant"},  # a tenant sees only itself
            {"group_by": "planet"},
            {"to": "yesterday"},
        ):
            r = await c.get("/v1/usage", params=params)
            assert r.status_code == 422, (params, r.text)
            assert r.headers["content-type"].startswith("application/problem+json")
            assert r.json()["code"] in ("validation_error",), r.json()


WINDOW = {"from": "2026-10-01T00:00:00Z", "to": "2026-12-01T00:00:00Z"}


async def test_daily_lines_by_day_agent_model_and_kind_with_csv(api: InProcApp) -> None:
    acme, globex = await api.tenant("acme"), await api.tenant("globex", tier="basic")
    await _usage(api, acme.id, "a1", "input_tokens", 100, "0.001", DAY1)
    await _usage(api, acme.id, "a1b", "input_tokens", 20, "0.001", DAY1)
    await _usage(api, acme.id, "a2", "tool_call", 2, "0.01", DAY1)
    await _usage(api, acme.id, "a3", "input_tokens", 50, "0.001", DAY2)
    await _usage(api, globex.id, "g1", "input_tokens", 7, "0.002", DAY1)
    async with api.client((await api.key(acme, Role.member)).secret) as c:
        r = await c.get("/v1/usage/daily", params=WINDOW)
        assert r.status_code == 200, r.text
        body = r.json()
        got = [
            (x["day"], x["agent"], x["model"], x["kind"], x["events"], x["quantity"])
            for x in body["lines"]
        ]
        assert got == [  # never globex's 7
            ("2026-11-01", "concierge", "", "tool_call", 1, 2),
            ("2026-11-01", "concierge", "local-large", "input_tokens", 2, 120),
            ("2026-11-02", "concierge", "local-large", "input_tokens", 1, 50),
        ]
        assert body["total_cost"] == "0.190000000"  # fixed-point text, as in the CSV
        assert [x["cost"] for x in body["lines"]] == ["0.020000000", "0.120000000", "0.050000000"]
        assert body["currency"] == "USD"

        csv_r = await c.get("/v1/usage/daily.csv", params=WINDOW)
        assert csv_r.status_code == 200
        assert csv_r.headers["content-type"].startswith("text/csv")
        assert 'filename="usage-20261001-20261201.csv"' in csv_r.headers["content-disposition"]
        rows = csv_r.text.splitlines()
        assert rows[0] == "day,agent,model,kind,events,quantity,cost"
        assert rows[1:] == [
            f"{x['day']},{x['agent']},{x['model']},{x['kind']},{x['events']},{x['quantity']},"
            f"{x['cost']}"
            for x in body["lines"]
        ]
        assert rows[2].endswith(",0.120000000")
    async with api.client((await api.key(globex, Role.admin)).secret) as c:
        other = (await c.get("/v1/usage/daily", params=WINDOW)).json()
        assert [(x["day"], x["quantity"]) for x in other["lines"]] == [("2026-11-01", 7)]
        assert (
            "local-large,input_tokens,1,7,"
            in (await c.get("/v1/usage/daily.csv", params=WINDOW)).text
        )


async def test_bad_daily_windows_are_422_problems(api: InProcApp) -> None:
    acme = await api.tenant("acme")
    async with api.client((await api.key(acme, Role.member)).secret) as c:
        for path in ("/v1/usage/daily", "/v1/usage/daily.csv"):
            for params in (
                {"from": "2026-11-02T00:00:00Z", "to": "2026-11-01T00:00:00Z"},  # backwards
                {"from": "2024-01-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"},  # two years
                {"from": "2026-11-01T00:00:00"},  # no time zone
                {"from": "last week"},
            ):
                r = await c.get(path, params=params)
                assert r.status_code == 422, (path, params, r.text)
                assert r.headers["content-type"].startswith("application/problem+json")
                assert r.json()["code"] == "validation_error"
    async with api.client() as c:
        assert (await c.get("/v1/usage/daily.csv")).status_code == 401


async def test_daily_costs_are_fixed_point_text_never_exponents(api: InProcApp) -> None:
    acme = await api.tenant("acme")
    await _usage(api, acme.id, "tiny", "input_tokens", 1, "0.0000001", DAY1)
    async with api.client((await api.key(acme, Role.member)).secret) as c:
        body = (await c.get("/v1/usage/daily", params=WINDOW)).json()
        assert [x["cost"] for x in body["lines"]] == ["0.000000100"]  # str(Decimal) is 1.00E-7
        assert body["total_cost"] == "0.000000100"
        csv_text = (await c.get("/v1/usage/daily.csv", params=WINDOW)).text
        assert csv_text.splitlines()[1].endswith(",input_tokens,1,1,0.000000100")

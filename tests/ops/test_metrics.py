"""Domain metrics on /metrics, driven through the platform: budget and policy denials per
tenant, failing webhook deliveries; and who may scrape (a scrape token or an operator)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from agentry.identity.principal import Role
from agentry.kit.clock import utcnow
from agentry.policy.engine import PolicyDenied, Request
from agentry.testing.inproc import InProcApp, running_app
from tests.billing.helpers import record

SCRAPE_TOKEN = "scrape-token-for-tests-0123456789"
FORBID_LONGRUN = (
    "permit(principal, action, resource);\n"
    'forbid(principal, action == Agentry::Action::"InvokeAgent",'
    ' resource == Agentry::Agent::"longrun");'
)


@pytest.fixture
async def metrics_api(database_url: str, tmp_path: Path) -> AsyncIterator[InProcApp]:
    async with running_app(
        database_url,
        tmp_path,
        auth_failure_limit="10000/minute",
        metrics_token=SCRAPE_TOKEN,
        price_change_lead_s=0,
        budget_cache_s=0.000001,
        webhook_allow_private=True,
        webhook_poll_interval_s=0.05,
        webhook_schedule_s=[0, 300],
        webhook_timeout_s=1,
    ) as app:
        yield app


async def _scrape(api: InProcApp, credential: str = SCRAPE_TOKEN) -> str:
    async with api.client(credential) as c:
        r = await c.get("/metrics")
    assert r.status_code == 200, r.text
    return r.text


def value(scrape: str, name: str, **labels: str) -> float:
    """The sample of `name` with exactly these labels (0 when absent)."""
    for line in scrape.splitlines():
        m = re.match(rf"^{name}(?:\{{([^}}]*)\}})? (\S+)$", line)
        if m and dict(re.findall(r'(\w+)="([^"]*)"', m.group(1) or "")) == labels:
            return float(m.group(2))
    return 0.0


async def test_scraping_needs_the_token_or_an_operator(metrics_api: InProcApp) -> None:
    api = metrics_api
    operator = (await api.key(await api.tenant("ops"), Role.operator)).secret
    admin = (await api.key(await api.tenant("acme"), Role.admin)).secret
    async with api.client() as anonymous:
        r = await anonymous.get("/metrics")
    assert r.status_code == 401
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "missing_credentials"
    async with api.client("wrong-token-0123456789") as c:
        r = await c.get("/metrics")
    assert r.status_code == 401
    async with api.client(admin) as c:  # a tenant's own admin may not see other tenants
        r = await c.get("/metrics")
    assert (r.status_code, r.json()["code"]) == (403, "insufficient_role")
    assert "agentry_jobs" in await _scrape(api)  # the scrape token
    assert "agentry_jobs" in await _scrape(api, operator)


async def test_without_a_token_the_local_profile_scrapes_openly(api: InProcApp) -> None:
    async with api.client() as anonymous:
        r = await anonymous.get("/metrics")
    assert r.status_code == 200
    assert "# TYPE agentry_budget_denials_total counter" in r.text


async def test_budget_denials_are_counted_per_tenant(metrics_api: InProcApp) -> None:
    api = metrics_api
    acme, globex = await api.tenant("acme"), await api.tenant("globex")
    op = (await api.key(await api.tenant("ops"), Role.operator)).secret
    member = (await api.key(acme, Role.member)).secret
    other = (await api.key(globex, Role.member)).secret
    before = await _scrape(api)
    async with api.client(op) as c:
        r = await c.put(
            f"/v1/admin/tenants/{acme.id}/billing/budget",
            json={"monthly_limit": "1", "ceiling": "5"},
        )
    assert r.status_code == 200, r.text
    await record(
        api.platform.sessionmaker,
        api.platform.prices,
        tenant_id=acme.id,
        tier="premium",
        key="spent",
        kind="tool_call",
        quantity=2500,
        at=utcnow(),
    )
    async with api.client(member) as c:
        for _ in range(2):
            r = await c.post("/v1/agents/nope/invoke", json={"input": {}})
            assert (r.status_code, r.json()["code"]) == (402, "budget_exhausted")
    async with api.client(other) as c:
        assert (await c.post("/v1/agents/nope/invoke", json={"input": {}})).status_code == 404
    after = await _scrape(api)
    labels = {"tenant": acme.id, "budget": "monthly"}
    name = "agentry_budget_denials_total"
    assert value(after, name, **labels) - value(before, name, **labels) == 2
    assert value(after, name, tenant=globex.id, budget="monthly") == 0


async def test_policy_denials_are_counted_per_tenant_and_action(metrics_api: InProcApp) -> None:
    api = metrics_api
    acme, globex = await api.tenant("acme"), await api.tenant("globex")
    admin = (await api.key(acme, Role.admin)).secret
    async with api.client(admin) as c:
        assert (await c.post("/v1/policies/versions", json={"text": FORBID_LONGRUN})).is_success
        assert (await c.post("/v1/policies/versions/1/enforce")).status_code == 200
    policies = api.app.state.policies
    name = "agentry_policy_denials_total"
    labels = {"tenant": acme.id, "action": "InvokeAgent", "source": "cedar"}
    before = value(await _scrape(api), name, **labels)
    # The check the invocation gate makes before any agent runs.
    with pytest.raises(PolicyDenied):
        await policies.check(
            Request(acme.id, "premium", "InvokeAgent", "longrun", role="admin", mode="sync"),
            mode="sync",
        )
    await policies.check(  # globex has no policy: allowed, not counted
        Request(globex.id, "premium", "InvokeAgent", "longrun", role="admin", mode="sync"),
        mode="sync",
    )
    after = await _scrape(api)
    assert value(after, name, **labels) - before == 1
    assert value(after, name, tenant=globex.id, action="InvokeAgent", source="cedar") == 0


async def test_failing_webhook_deliveries_show_as_retrying(metrics_api: InProcApp) -> None:
    api = metrics_api
    acme = await api.tenant("acme")
    admin = (await api.key(acme, Role.admin)).secret
    assert value(await _scrape(api), "agentry_webhook_deliveries_retrying") == 0
    async with api.client(admin) as c:
        # Nothing listens on port 9: every attempt fails.
        hook = await c.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/hook"})
        assert hook.status_code in (200, 201), hook.text
        sent = await c.post(f"/v1/webhooks/{hook.json()['id']}/test")
        assert sent.is_success, sent.text
    for _ in range(100):
        scrape = await _scrape(api)
        if value(scrape, "agentry_webhook_deliveries_retrying") == 1:
            break
        await asyncio.sleep(0.1)
    assert value(scrape, "agentry_webhook_deliveries_retrying") == 1
    assert value(scrape, "agentry_webhook_deliveries", status="pending") == 1

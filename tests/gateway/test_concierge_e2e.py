"""The concierge agent through the platform: tier policy, model gateway, audit and usage."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from agentry.api_keys.service import issue_key
from agentry.identity.principal import Role
from agentry.kit.db.engine import create_engine, create_sessionmaker, session_scope
from agentry.models import AuditEvent
from agentry.tenants.repository import TenantRepository
from agentry.tenants.service import create_tenant
from agentry.testing.stack import Stack
from tests.factories import agent_token, stack_signer

pytestmark = pytest.mark.e2e
FORECAST = 'call insights___forecast {"series": [1, 2, 3], "horizon": 2}'


def _db_url(stack: Stack) -> str:
    return (
        stack.env.get("AGENTRY_DATABASE_URL") or f"sqlite+aiosqlite:///{stack.home / 'agentry.db'}"
    )


def _run(coro: Any) -> Any:
    return asyncio.run(coro)


async def _operator_key(stack: Stack) -> str:
    engine = create_engine(_db_url(stack))
    try:
        async with session_scope(create_sessionmaker(engine)) as session:
            tenant = await TenantRepository(session).get_by_slug("ops-test") or await create_tenant(
                session, slug="ops-test", display_name="Ops", tier="premium"
            )
            pepper = (stack.home / "pepper").read_text().strip().encode()
            issued = await issue_key(session, tenant, name="op", role=Role.operator, pepper=pepper)
            return issued.secret
    finally:
        await engine.dispose()


async def _audit(stack: Stack, action: str) -> list[AuditEvent]:
    engine = create_engine(_db_url(stack))
    try:
        async with create_sessionmaker(engine)() as session:
            rows = await session.execute(select(AuditEvent).where(AuditEvent.action == action))
            return list(rows.scalars())
    finally:
        await engine.dispose()


def _concierge(stack: Stack, key: str, prompt: str) -> dict[str, Any]:
    with stack.client(key) as c:
        r = c.post("/v1/agents/concierge/invoke", json={"input": {"prompt": prompt}})
    assert r.status_code == 200, r.text
    output: dict[str, Any] = r.json()["output"]
    return output


@pytest.fixture
def operator_key(stack: Stack) -> str:
    key: str = _run(_operator_key(stack))
    return key


def test_basic_tenant_is_denied_the_premium_tool_and_it_is_audited(stack: Stack) -> None:
    out = _concierge(stack, stack.globex_key, FORECAST)
    assert out["tool_calls"][0]["tool"] == "insights___forecast"
    assert out["tool_calls"][0]["allowed"] is False
    assert "premium" in out["tool_calls"][0]["reason"]
    assert "insights___forecast" not in out["tools_visible"]
    denials = [e for e in _run(_audit(stack, "tool.call")) if e.outcome == "denied"]
    assert any(e.details.get("tool") == "insights___forecast" for e in denials)
    scrape = httpx.get(f"{stack.url}/metrics", timeout=30).text  # counted, by tenant
    tenant = denials[-1].actor_tenant_id
    assert (
        f'agentry_policy_denials_total{{action="CallTool",source="tier",tenant="{tenant}"}}'
        in scrape
    )


def test_premium_tenant_gets_the_forecast_and_sees_more_tools(stack: Stack) -> None:
    out = _concierge(stack, stack.acme_key, FORECAST)
    assert out["tool_calls"] == [{"tool": "insights___forecast", "allowed": True}]
    assert "[4.0, 5.0]" in out["answer"]
    assert "insights___forecast" in out["tools_visible"]
    basic = _concierge(stack, stack.globex_key, "hello")
    assert set(out["tools_visible"]) - set(basic["tools_visible"]) == {"insights___forecast"}


def test_usage_shows_tokens_and_tool_calls_with_cost(stack: Stack) -> None:
    _concierge(stack, stack.acme_key, 'call utility___calculate {"expression": "2*21"}')
    with stack.client(stack.acme_key) as c:
        report = c.get("/v1/usage", params={"group_by": "agent"}).json()
    lines = {(line["key"], line["kind"]): line for line in report["lines"]}
    for kind in ("input_tokens", "output_tokens", "tool_call", "runtime_ms"):
        assert lines[("concierge", kind)]["quantity"] > 0
        assert float(lines[("concierge", kind)]["cost"]) > 0
    with stack.client(stack.globex_key) as c:
        other = c.get("/v1/usage", params={"group_by": "model"}).json()
    assert all(line["key"] != "local-large" for line in other["lines"])  # basic never ran premium


def test_granting_a_tool_to_a_tier_takes_effect_without_restart_and_is_audited(
    stack: Stack, operator_key: str
) -> None:
    with stack.client(operator_key) as c:
        r = c.put("/v1/admin/tools/insights___forecast", json={"tiers": ["basic", "premium"]})
        assert r.status_code == 200, r.text
        try:
            out = _concierge(stack, stack.globex_key, FORECAST)
            assert out["tool_calls"] == [{"tool": "insights___forecast", "allowed": True}]
        finally:
            assert (
                c.put(
                    "/v1/admin/tools/insights___forecast", json={"tiers": ["premium"]}
                ).status_code
                == 200
            )
    changes = _run(_audit(stack, "tool.grant.update"))
    assert any(
        e.details["to"] == ["basic", "premium"] and e.details["from"] == ["premium"]
        for e in changes
    )


def test_gateway_rejects_calls_without_a_valid_invocation_token(stack: Stack) -> None:
    with stack.client() as c:
        r = c.post(
            "/agent/v1/chat/completions", json={"messages": [{"role": "user", "content": "x"}]}
        )
        assert r.status_code == 401
        assert r.json()["code"] == "invalid_invocation_token"
        r = c.post(
            "/agent/mcp/",
            json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
            headers={
                "Authorization": f"Bearer {stack.acme_key}",
                "Accept": "application/json, text/event-stream",
            },
        )
        assert r.status_code == 401  # a tenant's API key is not an invocation token
        assert json.loads(r.text)["error"]["data"]["code"] == "invalid_token"


def test_streamed_concierge_gets_the_gateways_and_its_token_ends_with_the_stream(
    stack: Stack,
) -> None:
    from tests.invocations.sse import read_stream

    with stack.client(stack.acme_key) as c:
        result = read_stream(
            c, "POST", "/v1/agents/concierge/stream", json={"input": {"prompt": FORECAST}}
        )
    assert result.status == 200
    assert (result.kinds[0], result.kinds[-1]) == ("start", "end"), result.kinds
    invocation_id = result.events[0].json["invocation_id"]
    outputs = [e.json for e in result.events if e.event == "chunk"]
    assert outputs[-1]["tool_calls"] == [{"tool": "insights___forecast", "allowed": True}]
    calls = [
        e
        for e in _run(_audit(stack, "tool.call"))
        if e.details.get("invocation_id") == invocation_id
    ]
    assert [e.outcome for e in calls] == ["success"]
    # The stream is over: the token it carried is refused from now on.
    with stack.client(stack.acme_key) as c:
        tenant_id = c.get("/v1/me").json()["tenant_id"]
    token = agent_token(
        stack_signer(stack),
        tenant_id=tenant_id,
        tier="premium",
        invocation_id=invocation_id,
        scopes=("model",),
    )
    with stack.client(token) as c:
        r = c.post(
            "/agent/v1/chat/completions", json={"messages": [{"role": "user", "content": "x"}]}
        )
    assert r.status_code == 401
    assert r.json()["code"] == "invocation_ended"

"""Per-invocation budgets counted from the usage table, through the API's own gateways.

Both databases. A replayed call (a retried job) is neither recorded nor charged again, and a
new gateway over the same database (a restart, another replica) starts from what is recorded.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from agentry.agent_auth.claims import InvocationClaims
from agentry.agent_auth.tokens import TokenSigner
from agentry.gateway.wiring import build_gateways
from agentry.kit.ids import new_id
from agentry.llm.schemas import ChatRequest
from agentry.llm.service import BudgetExceeded
from agentry.models import AuditEvent, Tenant, UsageEvent
from agentry.testing.inproc import InProcApp, running_app
from tests.factories import agent_token

ROUTES = {
    tier: {"provider": "local", "model": "local-small", "max_tokens": 60}
    for tier in ("basic", "standard", "premium")
}


@pytest.fixture
async def app(database_url: str, tmp_path: Path) -> AsyncIterator[InProcApp]:
    async with running_app(
        database_url,
        tmp_path,
        model_routes=ROUTES,
        tool_calls_per_invocation={"basic": 2},
    ) as running:
        yield running


def _token(app: InProcApp, tenant: Tenant, invocation_id: str) -> str:
    signer: TokenSigner = app.app.state.token_signer
    return agent_token(
        signer,
        tenant_id=tenant.id,
        tier=tenant.tier,
        invocation_id=invocation_id,
        tools=["utility___calculate"],
    )


def _ask(text: str) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": text}]}


async def _complete(c: httpx.AsyncClient, text: str) -> httpx.Response:
    return await c.post("/agent/v1/chat/completions", json=_ask(text))


async def _calc(c: httpx.AsyncClient, rpc_id: int, expression: str) -> dict[str, Any]:
    r = await c.post(
        "/agent/mcp/",
        json={
            "jsonrpc": "2.0",
            "id": rpc_id,
            "method": "tools/call",
            "params": {"name": "utility___calculate", "arguments": {"expression": expression}},
        },
        headers={"Accept": "application/json, text/event-stream"},
    )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = json.loads(r.text)
    return body


async def _usage(app: InProcApp, invocation_id: str, kind: str) -> tuple[int, int]:
    """(rows, summed quantity) of one kind for the invocation."""
    async with app.platform.sessionmaker() as s:
        row = (
            await s.execute(
                select(func.count(), func.coalesce(func.sum(UsageEvent.quantity), 0)).where(
                    UsageEvent.invocation_id == invocation_id, UsageEvent.kind == kind
                )
            )
        ).one()
    return int(row[0]), int(row[1])


async def test_token_budget_counts_recorded_usage_replays_free_and_survives_a_restart(
    app: InProcApp,
) -> None:
    tenant = await app.tenant("budget-tokens", tier="basic")
    invocation = new_id("job")
    async with app.client(_token(app, tenant, invocation)) as c:
        first = await _complete(c, "a " + "w " * 20)  # 25 in + 22 out
        assert first.status_code == 200, first.text
        assert (await _complete(c, "b " + "w " * 20)).status_code == 200  # capped to 13 left
        recorded = (
            await _usage(app, invocation, "input_tokens"),
            await _usage(app, invocation, "output_tokens"),
        )
        # A retry replays the first call: answered, not recorded again, not charged.
        replay = await _complete(c, "a " + "w " * 20)
        assert replay.status_code == 200
        assert replay.json()["usage"] == first.json()["usage"]
        assert (
            await _usage(app, invocation, "input_tokens"),
            await _usage(app, invocation, "output_tokens"),
        ) == recorded
        over = await _complete(c, "c new question")
        assert over.status_code == 429
        assert over.json()["code"] == "budget_exceeded"
    assert recorded[0][1] + recorded[1][1] >= 60

    # A new gateway over the same database (a restart): the spent amount is read back.
    fresh = build_gateways(
        app.settings,
        app.platform.sessionmaker,
        app.app.state.token_signer.verifier(),
        app.platform.audit,
        app.platform.prices,
    )
    claims = InvocationClaims(
        tenant_id=tenant.id,
        tier="basic",
        agent="concierge",
        version=1,
        invocation_id=invocation,
        session_id="s",
        scopes=frozenset({"model"}),
        jti="j",
    )
    with pytest.raises(BudgetExceeded):
        await fresh.models.complete(claims, ChatRequest.model_validate(_ask("d again")))
    # ... and a replay is still free there.
    again = await fresh.models.complete(claims, ChatRequest.model_validate(_ask("a " + "w " * 20)))
    assert again["usage"] == first.json()["usage"]
    spent = await fresh.models.budgets.of(tenant.id, invocation)
    assert spent.tokens == recorded[0][1] + recorded[1][1]

    # Another invocation of the same tenant has a budget of its own.
    async with app.client(_token(app, tenant, new_id("inv"))) as c:
        assert (await _complete(c, "hello")).status_code == 200


async def test_tool_call_budget_denies_past_the_tier_limit_with_an_audit_entry(
    app: InProcApp,
) -> None:
    tenant = await app.tenant("budget-tools", tier="basic")
    invocation = new_id("job")
    async with app.client(_token(app, tenant, invocation)) as c:
        assert (await _calc(c, 1, "2*21"))["result"]["structuredContent"]["value"] == 42
        assert "result" in await _calc(c, 2, "1+1")
        # Replays of recorded calls (a retried job) are free, also at the limit.
        assert "result" in await _calc(c, 1, "2*21")
        denied = await _calc(c, 3, "3+3")
        assert denied["id"] == 3
        assert denied["error"]["data"]["code"] == "budget_exceeded"
        assert "2 tool calls" in denied["error"]["data"]["reason"]
    assert await _usage(app, invocation, "tool_call") == (2, 2)
    async with app.platform.sessionmaker() as s:
        rows = (
            (await s.execute(select(AuditEvent).where(AuditEvent.action == "tool.call")))
            .scalars()
            .all()
        )
    mine = [e for e in rows if e.details.get("invocation_id") == invocation]
    assert [e.outcome for e in mine] == ["success", "success", "success", "denied"]
    assert "2 tool calls" in mine[-1].details["reason"]

    # After a restart the count comes from the usage table.
    fresh = build_gateways(
        app.settings,
        app.platform.sessionmaker,
        app.app.state.token_signer.verifier(),
        app.platform.audit,
        app.platform.prices,
    )
    spent = await fresh.models.budgets.of(tenant.id, invocation)
    assert (spent.tool_calls, spent.tokens) == (2, 0)

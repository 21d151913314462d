"""The interceptor Lambda with the platform's database: the per-invocation tool-call budget
and the metering step run there too, exactly once per call, and survive a cold start."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from agentry.agent_auth.tokens import TokenVerifier
from agentry.gateway import events, lambda_handler
from agentry.kit.db.engine import create_engine, create_sessionmaker, session_scope
from agentry.models import UsageEvent
from agentry.tenants.service import create_tenant
from tests.gateway.conftest import TokenFactory


@pytest.fixture
def sqlite_url(database_url: str) -> str:
    if not database_url.startswith("sqlite"):
        pytest.skip("the Lambda test drives one event loop of its own (SQLite is enough)")
    return database_url


@pytest.fixture
def tenant_id(sqlite_url: str) -> Iterator[str]:
    async def make() -> str:
        engine = create_engine(sqlite_url)
        try:
            async with session_scope(create_sessionmaker(engine)) as session:
                tenant = await create_tenant(session, slug="acme", display_name="A", tier="basic")
                return tenant.id
        finally:
            await engine.dispose()

    yield lambda_handler._run(make())
    lambda_handler.use_chain(None)


def _call(token: str, rpc_id: int) -> dict[str, Any]:
    body = {
        "jsonrpc": "2.0",
        "id": rpc_id,
        "method": "tools/call",
        "params": {"name": "utility___calculate", "arguments": {"expression": f"{rpc_id}*2"}},
    }
    return events.request_event({"Authorization": f"Bearer {token}"}, body, "")


def _cold_start(url: str, verifier: TokenVerifier) -> None:
    env = {"AGENTRY_DATABASE_URL": url, "AGENTRY_TOOL_CALLS_PER_INVOCATION": '{"basic": 2}'}
    lambda_handler.use_chain(
        lambda_handler._run(lambda_handler.chain_from_environment(env, verifier))
    )


def _round(token: str, rpc_id: int) -> str:
    """One tools/call through the REQUEST and RESPONSE interceptors: allowed or its code."""
    request = _call(token, rpc_id)
    decided = lambda_handler.handler(request)
    if "transformedGatewayResponse" in decided["mcp"]:
        return str(decided["mcp"]["transformedGatewayResponse"]["body"]["error"]["data"]["code"])
    result = {
        "jsonrpc": "2.0",
        "id": rpc_id,
        "result": {"content": [{"type": "text", "text": "ok"}]},
    }
    lambda_handler.handler(events.response_event(request, 200, result))
    return "allowed"


def test_budget_and_metering_in_the_lambda(
    sqlite_url: str, tenant_id: str, verifier: TokenVerifier, make_token: TokenFactory
) -> None:
    token = make_token("basic", tenant=tenant_id, invocation_id="inv_lambda")
    _cold_start(sqlite_url, verifier)
    assert _round(token, 1) == "allowed"
    assert _round(token, 2) == "allowed"
    assert _round(token, 3) == "budget_exceeded"

    # A new execution environment reads what the invocation has spent from the usage table.
    _cold_start(sqlite_url, verifier)
    assert _round(token, 4) == "budget_exceeded"
    # Another invocation has its own budget.
    other = make_token("basic", tenant=tenant_id, invocation_id="inv_other")
    assert _round(other, 1) == "allowed"

    async def rows() -> list[tuple[str, str, int]]:
        engine = create_engine(sqlite_url)
        try:
            async with create_sessionmaker(engine)() as session:
                found = await session.execute(
                    select(UsageEvent.invocation_id, UsageEvent.kind, UsageEvent.quantity)
                )
                return [(str(a), str(b), int(c)) for a, b, c in found.all()]
        finally:
            await engine.dispose()

    recorded = lambda_handler._run(rows())
    assert sorted(recorded) == [
        ("inv_lambda", "tool_call", 1),
        ("inv_lambda", "tool_call", 1),
        ("inv_other", "tool_call", 1),
    ]

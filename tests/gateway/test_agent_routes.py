"""Routes agents call with their invocation token, as an agent's SDKs call them (both databases).

The `openai` SDK lists models before it chats; MCP clients are configured with and without the
trailing slash on `/agent/mcp`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import openai
import pytest

from agentry.agent_auth.tokens import TokenSigner
from agentry.models import Tenant
from agentry.testing.inproc import InProcApp, running_app
from tests.factories import agent_token

ROUTES = {
    "basic": {"provider": "local", "model": "local-small", "max_tokens": 4000},
    "standard": {"provider": "local", "model": "local-medium", "max_tokens": 4000},
    "premium": {"provider": "local", "model": "local-large", "max_tokens": 4000},
}


@pytest.fixture
async def app(database_url: str, tmp_path: Path) -> AsyncIterator[InProcApp]:
    async with running_app(database_url, tmp_path, model_routes=ROUTES) as running:
        yield running


def _token(app: InProcApp, tenant: Tenant, scopes: tuple[str, ...] = ("model", "tools")) -> str:
    signer: TokenSigner = app.app.state.token_signer
    return agent_token(
        signer, tenant_id=tenant.id, tier=tenant.tier, scopes=scopes, tools=["utility___calculate"]
    )


def _sdk(app: InProcApp, token: str) -> openai.AsyncOpenAI:
    transport = httpx.ASGITransport(app=app.app)
    return openai.AsyncOpenAI(
        api_key=token,
        base_url="http://test/agent/v1",
        http_client=httpx.AsyncClient(transport=transport, base_url="http://test"),
        max_retries=0,
    )


async def test_openai_sdk_lists_the_tiers_model_then_chats(app: InProcApp) -> None:
    basic = await app.tenant("models-basic", tier="basic")
    premium = await app.tenant("models-premium", tier="premium")
    for tenant, expected in ((basic, "local-small"), (premium, "local-large")):
        sdk = _sdk(app, _token(app, tenant))
        listed = [m.id async for m in sdk.models.list()]
        assert listed == [expected]
        answer = await sdk.chat.completions.create(
            model="anything-the-agent-asks-for", messages=[{"role": "user", "content": "hi"}]
        )
        assert answer.model == expected  # the tier decides, whatever the request says
        await sdk.close()


async def test_model_list_needs_a_token_with_the_model_scope(app: InProcApp) -> None:
    tenant = await app.tenant("models-scope", tier="basic")
    async with app.client() as anonymous:
        missing = await anonymous.get("/agent/v1/models")
    assert missing.status_code == 401
    assert missing.headers["content-type"].startswith("application/problem+json")
    async with app.client(_token(app, tenant, scopes=("tools",))) as c:
        no_scope = await c.get("/agent/v1/models")
    assert (no_scope.status_code, no_scope.json()["code"]) == (403, "insufficient_scope")


@pytest.mark.parametrize("path", ["/agent/mcp", "/agent/mcp/"])
async def test_mcp_answers_with_and_without_the_trailing_slash(app: InProcApp, path: str) -> None:
    tenant = await app.tenant(f"mcp-{len(path)}", tier="premium")
    message = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    accept = {"Accept": "application/json, text/event-stream"}
    async with app.client(_token(app, tenant)) as c:
        answer = await c.post(path, json=message, headers=accept)
    assert answer.status_code == 200, answer.text
    names = [tool["name"] for tool in answer.json()["result"]["tools"]]
    assert "utility___calculate" in names
    async with app.client() as anonymous:
        refused = await anonymous.post(path, json=message, headers=accept)
    assert refused.status_code == 401  # the token check runs on both spellings

"""The same chain behind the Lambda entry point, fed AgentCore's REQUEST/RESPONSE events."""

from __future__ import annotations

import json

import pytest

from agentry.gateway import events, lambda_handler
from agentry.gateway.chain import InterceptorChain
from tests.gateway.conftest import TokenFactory


@pytest.fixture(autouse=True)
def installed(chain: InterceptorChain) -> None:
    lambda_handler.use_chain(chain)


def _request(token: str, body: dict[str, object]) -> dict[str, object]:
    return events.request_event({"Authorization": f"Bearer {token}"}, body, json.dumps(body))


def test_request_event_denied_out_of_tier_tool(make_token: TokenFactory) -> None:
    body = {
        "jsonrpc": "2.0",
        "id": 3,
        "method": "tools/call",
        "params": {"name": "insights___forecast", "arguments": {"series": [1, 2]}},
    }
    out = lambda_handler.handler(_request(make_token("basic"), body))
    assert out["interceptorOutputVersion"] == "1.0"
    response = out["mcp"]["transformedGatewayResponse"]
    assert response["body"]["error"]["data"]["code"] == "tool_denied"
    assert "transformedGatewayRequest" not in out["mcp"]


def test_request_event_allowed_passes_the_request_on(make_token: TokenFactory) -> None:
    body = {
        "jsonrpc": "2.0",
        "id": 4,
        "method": "tools/call",
        "params": {"name": "utility___calculate", "arguments": {"expression": "2*21"}},
    }
    out = lambda_handler.handler(_request(make_token("premium"), body))
    assert out["mcp"]["transformedGatewayRequest"]["body"] == body


def test_response_event_filters_tools_list(make_token: TokenFactory) -> None:
    body = {"jsonrpc": "2.0", "id": 5, "method": "tools/list"}
    listed = {
        "jsonrpc": "2.0",
        "id": 5,
        "result": {"tools": [{"name": n} for n in ("utility___now", "insights___forecast")]},
    }
    event = events.response_event(_request(make_token("basic"), body), 200, listed)
    out = lambda_handler.handler(event)
    tools = out["mcp"]["transformedGatewayResponse"]["body"]["result"]["tools"]
    assert [t["name"] for t in tools] == ["utility___now"]

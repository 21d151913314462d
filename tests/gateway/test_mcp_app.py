"""The MCP endpoint over real HTTP, driven by the `mcp` SDK's own client."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import uvicorn
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from starlette.applications import Starlette
from starlette.routing import Mount

from agentry.gateway.chain import InterceptorChain
from agentry.gateway.mcp_app import McpGateway
from agentry.gateway.tools import builtin_catalog
from tests.gateway.conftest import TokenFactory


@pytest.fixture
def gateway_url(chain: InterceptorChain) -> Iterator[str]:
    gateway = McpGateway(chain, builtin_catalog())

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        async with gateway.running():
            yield

    app = Starlette(routes=[Mount("/agent/mcp", app=gateway)], lifespan=lifespan)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        threading.Event().wait(0.02)
    yield f"http://127.0.0.1:{port}/agent/mcp/"
    server.should_exit = True
    thread.join(5)


@asynccontextmanager
async def _client(url: str, token: str) -> AsyncIterator[Any]:
    http = create_mcp_http_client(headers={"Authorization": f"Bearer {token}"})
    async with http, Client(streamable_http_client(url, http_client=http)) as client:
        yield client


async def test_sdk_client_lists_and_calls_through_the_chain(
    gateway_url: str, make_token: TokenFactory
) -> None:
    async with _client(gateway_url, make_token("basic")) as basic:
        names = {t.name for t in (await basic.list_tools()).tools}
        assert names == {"utility___now", "utility___calculate"}
        result = await basic.call_tool("utility___calculate", {"expression": "6*7"})
        assert result.structured_content == {"expression": "6*7", "value": 42.0}
    async with _client(gateway_url, make_token("premium")) as premium:
        names = {t.name for t in (await premium.list_tools()).tools}
        assert "insights___forecast" in names


async def test_sdk_client_sees_a_denied_call_as_an_error(
    gateway_url: str, make_token: TokenFactory
) -> None:
    async with _client(gateway_url, make_token("basic")) as basic:
        with pytest.raises(Exception, match="denied") as info:
            await basic.call_tool("insights___forecast", {"series": [1, 2]})
    assert "premium" in str(info.value)


async def test_no_token_is_refused_before_the_sdk(gateway_url: str) -> None:
    import httpx

    async with httpx.AsyncClient() as http:
        r = await http.post(
            gateway_url,
            json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
            headers={"accept": "application/json, text/event-stream"},
        )
    assert r.status_code == 401
    assert r.json()["error"]["data"]["code"] == "invalid_token"
    await asyncio.sleep(0)

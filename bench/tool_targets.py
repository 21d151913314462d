"""External MCP tool target: a tool call direct to the remote server vs through the gateway.

Both sides are real: the remote is the SDK's `MCPServer` under uvicorn; the gateway is the
whole API (create_app, SQLite) under uvicorn, so the call passes the interceptor chain
(token, Cedar, schema, rate limit, redaction, audit, metering) and the persistent client.
Measured with one open `mcp.Client` per side, sequential calls, medians.
"""

from __future__ import annotations

import asyncio
import socket
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.server.mcpserver import MCPServer
from mcp.shared._httpx_utils import create_mcp_http_client
from pydantic import SecretStr

from agentry.api_keys.service import issue_key
from agentry.app import create_app
from agentry.config import Settings
from agentry.identity.principal import Role
from agentry.kit.db.engine import create_engine, create_sessionmaker, session_scope
from agentry.kit.db.migrate import upgrade_async
from agentry.tenants.service import create_tenant

N = 300


def _serve(app: Any) -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    server = uvicorn.Server(uvicorn.Config(app, port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.02)
    return port


async def _median_ms(
    url: str, headers: dict[str, str], tool: str, args: dict[str, Any] | None = None
) -> float:
    args = args if args is not None else {"a": 1, "b": 2}
    http = create_mcp_http_client(headers=headers)
    async with http, Client(streamable_http_client(url, http_client=http)) as client:
        for _ in range(20):
            await client.call_tool(tool, args)
        times = []
        for _ in range(N):
            started = time.perf_counter()
            await client.call_tool(tool, args)
            times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


async def main() -> None:
    remote = MCPServer("bench")

    @remote.tool()
    def add(a: int, b: int) -> int:
        return a + b

    remote_url = f"http://127.0.0.1:{_serve(remote.streamable_http_app())}/mcp"
    home = Path(tempfile.mkdtemp())
    db = f"sqlite+aiosqlite:///{home / 'agentry.db'}"
    await upgrade_async(db)
    engine = create_engine(db)
    async with session_scope(create_sessionmaker(engine)) as session:
        tenant = await create_tenant(session, slug="bench", display_name="b", tier="premium")
        key = (await issue_key(session, tenant, name="op", role=Role.operator, pepper=b"p")).secret
    await engine.dispose()
    settings = Settings(
        home=home,
        database_url=db,
        api_key_pepper=SecretStr("p"),
        log_level="WARNING",
        tool_target_allow_private=True,
        tool_calls_per_minute={"premium": 10_000_000},
    )
    app = create_app(settings, migrate=False)
    api = f"http://127.0.0.1:{_serve(app)}"
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {key}"}) as c:
        r = await c.post(f"{api}/v1/admin/tool-targets", json={"name": "bench", "url": remote_url})
        r.raise_for_status()
    token = app.state.token_signer.sign(
        tenant_id=tenant.id,
        tier="premium",
        agent="bench",
        version=1,
        invocation_id="inv_bench",
        session_id="s",
        scopes=("tools",),
    )
    direct = await _median_ms(remote_url, {}, "add")
    gateway = await _median_ms(
        f"{api}/agent/mcp/", {"Authorization": f"Bearer {token}"}, "bench___add"
    )
    builtin = await _median_ms(
        f"{api}/agent/mcp/",
        {"Authorization": f"Bearer {token}"},
        "utility___calculate",
        {"expression": "1+2"},
    )
    print(f"direct to the remote MCP server: median {direct:.2f} ms ({N} calls)")
    print(f"built-in tool via the gateway:   median {builtin:.2f} ms ({N} calls)")
    print(f"through the gateway:             median {gateway:.2f} ms ({N} calls)")


if __name__ == "__main__":
    asyncio.run(main())

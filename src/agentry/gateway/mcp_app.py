"""`/agent/mcp`: the tool gateway over MCP streamable HTTP, on the `mcp` SDK (2.x).

The SDK's low-level server serves the tool catalog (stateless, JSON responses, as AgentCore
Gateway does); it reads the catalog on every request, so external targets registered at
runtime show up at once. In front of it, every JSON-RPC message goes through the interceptor chain:
the chain decides, and only what it lets through reaches the SDK server and the tool.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from mcp import types
from mcp.server.lowlevel import Server
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.shared.exceptions import MCPError
from opentelemetry.trace import Span
from starlette.types import Message, Receive, Scope, Send

from agentry.gateway import remote
from agentry.gateway.chain import InterceptorChain
from agentry.gateway.events import JsonRpc
from agentry.gateway.remote import RemoteToolError, TargetUnavailable
from agentry.gateway.tools import ToolCatalog
from agentry.kit import tracing

MAX_BODY = 1_048_576


def build_server(catalog: ToolCatalog) -> Server[Any]:
    async def list_tools(_ctx: Any, _params: Any) -> types.ListToolsResult:
        return types.ListToolsResult(
            tools=[
                types.Tool(name=s.full_name, description=s.description, input_schema=s.input_schema)
                for s in catalog.all()
            ]
        )

    async def call_tool(_ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        try:
            result = await catalog.call(params.name, dict(params.arguments or {}))
        except (TargetUnavailable, RemoteToolError) as exc:
            raise MCPError(*remote.rpc_error(exc)) from exc
        return types.CallToolResult.model_validate(result)

    return Server("agentry-tools", version="1", on_list_tools=list_tools, on_call_tool=call_tool)


class McpGateway:
    """ASGI app: interceptor chain in front of the SDK's streamable HTTP transport."""

    def __init__(self, chain: InterceptorChain, catalog: ToolCatalog) -> None:
        self.chain = chain
        self.manager = StreamableHTTPSessionManager(
            app=build_server(catalog), json_response=True, stateless=True
        )

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        async with self.manager.run():
            yield

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await _send_json(send, 405, {"error": "POST JSON-RPC messages to this endpoint"})
            return
        raw = await _read(receive)
        if raw is None:
            await _send_json(send, 413, {"error": "message too large"})
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}

        async def target(body: JsonRpc) -> tuple[int, JsonRpc]:
            return await self._forward(scope, body)

        tool = _tool_call(raw) if tracing.enabled() else None
        if tool is None:
            status, body, extra = await self.chain.run(headers, raw, target)
        else:
            name, call_id, meta = tool
            with tracing.span(
                f"execute_tool {name}",
                attributes=_tool_span(name, call_id),
                carrier=meta,  # MCP's trace context (SEP-414) over the HTTP request's
            ) as opened:
                status, body, extra = await self.chain.run(headers, raw, target)
                _tool_outcome(opened, status, body)
        await _send_json(send, status, body if body else None, extra)

    async def _forward(self, scope: Scope, body: JsonRpc) -> tuple[int, JsonRpc]:
        payload = json.dumps(body).encode()
        headers = [(k, v) for k, v in scope["headers"] if k not in (b"content-length",)]
        headers.append((b"content-length", str(len(payload)).encode()))
        inner = {**scope, "headers": headers}
        sent = False
        status, chunks = 500, []

        async def inner_receive() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": payload, "more_body": False}
            return {"type": "http.disconnect"}

        async def inner_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.manager.handle_request(inner, inner_receive, inner_send)
        data = b"".join(chunks)
        return status, (json.loads(data) if data.strip() else {})


def _tool_call(raw: bytes) -> tuple[str, str, dict[str, str]] | None:
    """(tool name, JSON-RPC id, `params._meta` strings) of a `tools/call` message, else None."""
    try:
        message = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(message, dict) or message.get("method") != "tools/call":
        return None
    params = message.get("params")
    if not isinstance(params, dict) or not isinstance(params.get("name"), str):
        return None
    meta = params.get("_meta")
    carrier = (
        {k: v for k, v in meta.items() if isinstance(v, str)} if isinstance(meta, dict) else {}
    )
    return params["name"], str(message.get("id", "")), carrier


def _tool_span(name: str, call_id: str) -> dict[str, Any]:
    # GenAI semantic conventions' execute_tool span; tenant and agent are set by the token check.
    return {
        tracing.OPERATION: "execute_tool",
        "gen_ai.tool.name": name,
        "gen_ai.tool.call.id": call_id,
        "gen_ai.tool.type": "extension",  # run by the gateway, not by the agent
    }


def _tool_outcome(opened: Span | None, status: int, body: JsonRpc) -> None:
    if opened is None:
        return
    opened.set_attribute("http.response.status_code", status)
    error = body.get("error") if isinstance(body, dict) else None
    result = body.get("result") if isinstance(body, dict) else None
    if isinstance(error, dict):
        data = error.get("data")
        code = data.get("code") if isinstance(data, dict) else None
        tracing.failed(opened, str(code or error.get("code", "error")))
    elif isinstance(result, dict) and result.get("isError"):
        tracing.failed(opened, "tool_error")


async def _read(receive: Receive) -> bytes | None:
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
        if not message.get("more_body"):
            break
    return b"".join(chunks)


async def _send_json(
    send: Send, status: int, body: Any, headers: dict[str, str] | None = None
) -> None:
    data = b"" if body is None else json.dumps(body).encode()
    out = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    out += [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": out})
    await send({"type": "http.response.body", "body": data})

"""The tool targets (built-in and external) as JSON-RPC (`tools/list`, `tools/call`, `ping`).

This is what sits behind the interceptor chain in-process; the chain makes every decision
before a call reaches it.
"""

from __future__ import annotations

from agentry.gateway import events, remote
from agentry.gateway.events import JsonRpc
from agentry.gateway.remote import RemoteToolError, TargetUnavailable
from agentry.gateway.tools import ToolCatalog


class CatalogTarget:
    def __init__(self, catalog: ToolCatalog) -> None:
        self.catalog = catalog
        self.calls: int = 0

    async def __call__(self, body: JsonRpc) -> tuple[int, JsonRpc]:
        method, rpc_id = body.get("method"), body.get("id")
        if method == "tools/list":
            tools = [spec.describe() for spec in self.catalog.all()]
            return 200, {"jsonrpc": "2.0", "id": rpc_id, "result": {"tools": tools}}
        if method == "tools/call":
            params = body.get("params") or {}
            name = str(params.get("name", ""))
            if self.catalog.get(name) is None:
                return 200, events.rpc_error(
                    body,
                    -32602,
                    f"Unknown tool: {name}",
                    reason="no such tool",
                    data_code="unknown_tool",
                )
            self.calls += 1
            try:
                result = await self.catalog.call(name, params.get("arguments") or {})
            except (TargetUnavailable, RemoteToolError) as exc:
                code, message, data = remote.rpc_error(exc)
                return 200, events.rpc_error(
                    body, code, message, reason=data["reason"], data_code=data["code"]
                )
            return 200, {"jsonrpc": "2.0", "id": rpc_id, "result": result}
        if method == "ping":
            return 200, {"jsonrpc": "2.0", "id": rpc_id, "result": {}}
        return 200, events.rpc_error(
            body,
            -32601,
            "Method not found",
            reason=f"'{method}' is not supported",
            data_code="method_not_found",
        )

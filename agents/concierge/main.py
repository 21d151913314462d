"""Concierge: a small tool-using agent on plain SDK calls (bedrock-agentcore, mcp, httpx).

It uses only what the platform hands it in `payload["_agentry"]`: a short-lived invocation
token and the URLs of the model gateway and the tool gateway. It never sees the tenant's
credential, and it does not decide what it may call: the gateway does.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
from bedrock_agentcore import BedrockAgentCoreApp
from mcp import Client, MCPError
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from starlette.exceptions import HTTPException

app = BedrockAgentCoreApp()
MAX_TURNS = 4


@app.entrypoint
async def invoke(payload: Any) -> dict[str, Any]:
    if not isinstance(payload, dict) or not isinstance(payload.get("_agentry"), dict):
        raise HTTPException(400, 'input must be a JSON object, e.g. {"prompt": "..."}')
    if not isinstance(payload.get("prompt", ""), str):
        raise HTTPException(400, "'prompt' must be a string")
    ctx = payload["_agentry"]
    auth = {"Authorization": f"Bearer {ctx['token']}"}
    messages: list[dict[str, Any]] = [{"role": "user", "content": str(payload.get("prompt", ""))}]
    calls: list[dict[str, Any]] = []
    http = create_mcp_http_client(headers=auth)
    async with http, Client(streamable_http_client(ctx["tools_url"], http_client=http)) as tools:
        listed = (await tools.list_tools()).tools
        tool_defs = [
            {
                "type": "function",
                "function": {
                    "name": t.name,
                    "description": t.description or "",
                    "parameters": t.input_schema,
                },
            }
            for t in listed
        ]
        async with httpx.AsyncClient(headers=auth, timeout=60) as model:
            for _ in range(MAX_TURNS):
                r = await model.post(
                    ctx["model_url"], json={"messages": messages, "tools": tool_defs}
                )
                r.raise_for_status()
                message = r.json()["choices"][0]["message"]
                messages.append(message)
                if not message.get("tool_calls"):
                    return {
                        "answer": message.get("content"),
                        "tool_calls": calls,
                        "tools_visible": [t.name for t in listed],
                    }
                for call in message["tool_calls"]:
                    name = call["function"]["name"]
                    try:
                        result = await tools.call_tool(
                            name, json.loads(call["function"]["arguments"])
                        )
                        text = (
                            json.dumps(result.structured_content)
                            if result.structured_content
                            else "".join(getattr(c, "text", "") for c in result.content)
                        )
                        calls.append({"tool": name, "allowed": not result.is_error})
                    except MCPError as exc:
                        text = f"denied: {exc}"
                        calls.append({"tool": name, "allowed": False, "reason": str(exc)})
                    messages.append(
                        {"role": "tool", "tool_call_id": call["id"], "name": name, "content": text}
                    )
    return {"answer": None, "tool_calls": calls, "error": "too many turns"}


if __name__ == "__main__":
    app.run()

"""Run interceptors the way AgentCore Gateway does, in-process or inside a Lambda.

`on_request` folds the REQUEST interceptors: each sees the (possibly rewritten) request; the
first that answers with a response short-circuits the rest and the target. `on_response`
folds the RESPONSE interceptors over the target's (or the short-circuit's) response.
`run` does both around a call of the target. The event dicts are the v1.0 wire format.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from agentry.gateway import events
from agentry.gateway.events import Event, JsonRpc

Interceptor = Callable[[Event], Awaitable[Event]]
Target = Callable[[JsonRpc], Awaitable[tuple[int, JsonRpc]]]


class InterceptorChain:
    def __init__(self, request: Sequence[Interceptor], response: Sequence[Interceptor]) -> None:
        self.request = list(request)
        self.response = list(response)

    async def on_request(self, event: Event) -> Event:
        for interceptor in self.request:
            out = (await interceptor(event)).get("mcp", {})
            if "transformedGatewayResponse" in out:
                return events.respond(
                    out["transformedGatewayResponse"]["statusCode"],
                    out["transformedGatewayResponse"]["body"],
                    out["transformedGatewayResponse"].get("headers"),
                )
            if "transformedGatewayRequest" in out:
                event["mcp"]["gatewayRequest"]["body"] = out["transformedGatewayRequest"]["body"]
        return events.rewrite_request(event["mcp"]["gatewayRequest"]["body"])

    async def on_response(self, event: Event) -> Event:
        headers: dict[str, str] = {}
        for interceptor in self.response:
            out = (await interceptor(event)).get("mcp", {})
            if "transformedGatewayResponse" in out:
                response = out["transformedGatewayResponse"]
                event["mcp"]["gatewayResponse"] = {
                    "statusCode": response["statusCode"],
                    "body": response["body"],
                }
                headers.update(response.get("headers") or {})
        final = event["mcp"]["gatewayResponse"]
        return events.respond(final["statusCode"], final["body"], headers or None)

    async def run(
        self, headers: dict[str, str], raw: bytes, target: Target
    ) -> tuple[int, JsonRpc, dict[str, str]]:
        body, problem = _parse(raw)
        if problem is not None:
            return 400, problem, {}
        request = events.request_event(headers, body, raw.decode("utf-8", "replace"))
        decided = (await self.on_request(request))["mcp"]
        if "transformedGatewayResponse" in decided:
            status, result = (
                decided["transformedGatewayResponse"]["statusCode"],
                decided["transformedGatewayResponse"]["body"],
            )
        else:
            status, result = await target(decided["transformedGatewayRequest"]["body"])
        final = (await self.on_response(events.response_event(request, status, result)))["mcp"]
        response = final["transformedGatewayResponse"]
        return response["statusCode"], response["body"], response.get("headers") or {}


def _parse(raw: bytes) -> tuple[JsonRpc, JsonRpc | None]:
    try:
        body: Any = json.loads(raw)
    except ValueError:
        return {}, events.rpc_error(
            None, -32700, "Parse error", reason="body is not JSON", data_code="parse_error"
        )
    if not isinstance(body, dict) or body.get("jsonrpc") != "2.0" or "method" not in body:
        return {}, events.rpc_error(
            body if isinstance(body, dict) else None,
            -32600,
            "Invalid Request",
            reason="expected a JSON-RPC 2.0 request object",
            data_code="invalid_request",
        )
    return body, None

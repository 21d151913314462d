"""The AgentCore Gateway interceptor event format, version 1.0.

REQUEST interceptors receive `mcp.gatewayRequest` (and the raw body) and may return
`mcp.transformedGatewayRequest` (rewrite) or `mcp.transformedGatewayResponse` (deny:
short-circuits the call). RESPONSE interceptors also receive `mcp.gatewayResponse` and may
return `mcp.transformedGatewayResponse`. The same dicts travel in-process and through Lambda.
"""

from __future__ import annotations

from typing import Any

JsonRpc = dict[str, Any]
Event = dict[str, Any]
INPUT_VERSION = "1.0"


def request_event(headers: dict[str, str], body: JsonRpc, raw: str) -> Event:
    return {
        "interceptorInputVersion": INPUT_VERSION,
        "mcp": {
            "rawGatewayRequest": {"body": raw},
            "gatewayRequest": {
                "path": "/mcp",
                "httpMethod": "POST",
                "headers": dict(headers),
                "body": body,
            },
        },
    }


def response_event(request: Event, status: int, body: JsonRpc) -> Event:
    # Interceptors read events and answer with new dicts, so a shallow copy is enough.
    return {
        **request,
        "mcp": {**request["mcp"], "gatewayResponse": {"statusCode": status, "body": body}},
    }


def passthrough() -> Event:
    return {"interceptorOutputVersion": INPUT_VERSION, "mcp": {}}


def rewrite_request(body: JsonRpc) -> Event:
    return {
        "interceptorOutputVersion": INPUT_VERSION,
        "mcp": {"transformedGatewayRequest": {"body": body}},
    }


def respond(status: int, body: JsonRpc, headers: dict[str, str] | None = None) -> Event:
    response: dict[str, Any] = {"statusCode": status, "body": body}
    if headers:
        response["headers"] = headers
    return {
        "interceptorOutputVersion": INPUT_VERSION,
        "mcp": {"transformedGatewayResponse": response},
    }


def rpc_error(
    request_body: JsonRpc | None, code: int, message: str, *, reason: str, data_code: str
) -> JsonRpc:
    return {
        "jsonrpc": "2.0",
        "id": (request_body or {}).get("id"),
        "error": {"code": code, "message": message, "data": {"code": data_code, "reason": reason}},
    }


def gateway_request(event: Event) -> dict[str, Any]:
    request: dict[str, Any] = event["mcp"]["gatewayRequest"]
    return request


def bearer(event: Event) -> str | None:
    for name, value in gateway_request(event).get("headers", {}).items():
        if name.lower() == "authorization":
            scheme, _, token = str(value).partition(" ")
            return token.strip() or None if scheme.lower() == "bearer" else None
    return None

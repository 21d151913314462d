"""`agentry ops gateway apply`: create or update the AgentCore Gateway and its platform target.

The gateway is `create_gateway_request` (JWT authorizer on the platform's issuer, the
interceptor Lambda at both points). Its one platform-owned target, `agentry`, is the API's own
MCP endpoint (`<public url>/agent/mcp`), which serves the built-in tools; external MCP servers
are added as targets when an operator registers them (`aws_targets.py`). Idempotent: a second
run updates in place. Checked against botocore's service model with Stubber
(tests/gateway/test_apply.py); AWS itself was not exercised.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from agentry.gateway.aws import create_gateway_request

PLATFORM_TARGET = "agentry"


@dataclass(frozen=True, slots=True)
class GatewaySpec:
    name: str
    role_arn: str
    issuer: str
    interceptor_lambda_arn: str
    mcp_url: str
    kms_key_arn: str | None = None


@dataclass(frozen=True, slots=True)
class Applied:
    gateway_id: str
    gateway_created: bool
    target_id: str
    target_created: bool


def _pages(client: Any, operation: str, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        page = getattr(client, operation)(**params, **({"nextToken": token} if token else {}))
        items.extend(page.get("items", []))
        token = page.get("nextToken")
        if not token:
            return items


def apply_gateway(client: Any, spec: GatewaySpec) -> Applied:
    """Make the gateway and its platform target look like `spec` (create or update)."""
    request = create_gateway_request(
        name=spec.name,
        role_arn=spec.role_arn,
        issuer=spec.issuer,
        interceptor_lambda_arn=spec.interceptor_lambda_arn,
        kms_key_arn=spec.kms_key_arn,
    )
    found = [g for g in _pages(client, "list_gateways", maxResults=100) if g["name"] == spec.name]
    if found:
        gateway_id = str(found[0]["gatewayId"])
        client.update_gateway(gatewayIdentifier=gateway_id, **request)
    else:
        gateway_id = str(client.create_gateway(**request)["gatewayId"])
    target = {
        "name": PLATFORM_TARGET,
        "description": "Agentry built-in tools (the platform's MCP endpoint)",
        "targetConfiguration": {"mcp": {"mcpServer": {"endpoint": spec.mcp_url}}},
        # The API's MCP endpoint checks the agent's invocation token itself: pass it through.
        "credentialProviderConfigurations": [{"credentialProviderType": "JWT_PASSTHROUGH"}],
    }
    targets = _pages(client, "list_gateway_targets", gatewayIdentifier=gateway_id, maxResults=100)
    mine = [t for t in targets if t["name"] == PLATFORM_TARGET]
    if mine:
        target_id = str(mine[0]["targetId"])
        client.update_gateway_target(gatewayIdentifier=gateway_id, targetId=target_id, **target)
    else:
        token = hashlib.sha256(f"{gateway_id} {spec.mcp_url}".encode()).hexdigest()[:64]
        target_id = str(
            client.create_gateway_target(gatewayIdentifier=gateway_id, clientToken=token, **target)[
                "targetId"
            ]
        )
    return Applied(gateway_id, not found, target_id, not mine)

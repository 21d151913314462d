"""`agentry ops gateway apply` against botocore's Stubber: every call's parameters are
validated against the `bedrock-agentcore-control` service model (AWS is not reached)."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.stub import ANY, Stubber

from agentry.gateway.apply import PLATFORM_TARGET, GatewaySpec, apply_gateway
from agentry.gateway.aws import create_gateway_request

T = "2026-12-03T07:00:00Z"
SPEC = GatewaySpec(
    name="agentry-tools",
    role_arn="arn:aws:iam::123456789012:role/agentry-gateway",
    issuer="https://api.agentry.example",
    interceptor_lambda_arn="arn:aws:lambda:eu-west-1:123456789012:function:agentry-interceptor",
    mcp_url="https://api.agentry.example/agent/mcp",
)
GW = {
    "gatewayArn": "arn:aws:bedrock-agentcore:eu-west-1:123456789012:gateway/gw-1",
    "gatewayId": "gw-1",
    "name": "agentry-tools",
    "status": "READY",
    "createdAt": T,
    "updatedAt": T,
    "authorizerType": "CUSTOM_JWT",
}
TARGET = {
    "name": PLATFORM_TARGET,
    "description": "Agentry built-in tools (the platform's MCP endpoint)",
    "targetConfiguration": {"mcp": {"mcpServer": {"endpoint": SPEC.mcp_url}}},
    "credentialProviderConfigurations": [{"credentialProviderType": "JWT_PASSTHROUGH"}],
}
TARGET_OUT = {
    "gatewayArn": GW["gatewayArn"],
    "targetId": "tgt-1",
    "createdAt": T,
    "updatedAt": T,
    "status": "CREATING",
    "name": PLATFORM_TARGET,
    "targetConfiguration": TARGET["targetConfiguration"],
    "credentialProviderConfigurations": TARGET["credentialProviderConfigurations"],
}


LISTED = {k: v for k, v in GW.items() if k != "gatewayArn"}


def _client() -> Any:
    return boto3.client(
        "bedrock-agentcore-control",
        region_name="eu-west-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def _request() -> dict[str, Any]:
    return create_gateway_request(
        name=SPEC.name,
        role_arn=SPEC.role_arn,
        issuer=SPEC.issuer,
        interceptor_lambda_arn=SPEC.interceptor_lambda_arn,
    )


def test_first_apply_creates_the_gateway_and_its_target() -> None:
    client = _client()
    with Stubber(client) as stub:
        other = {**LISTED, "gatewayId": "gw-0", "name": "someone-else"}
        stub.add_response("list_gateways", {"items": [other]}, {"maxResults": 100})
        stub.add_response("create_gateway", GW, _request())
        stub.add_response(
            "list_gateway_targets", {"items": []}, {"gatewayIdentifier": "gw-1", "maxResults": 100}
        )
        stub.add_response(
            "create_gateway_target",
            TARGET_OUT,
            {"gatewayIdentifier": "gw-1", "clientToken": ANY, **TARGET},
        )
        applied = apply_gateway(client, SPEC)
        stub.assert_no_pending_responses()
    assert applied.gateway_id == "gw-1"
    assert applied.gateway_created
    assert applied.target_id == "tgt-1"
    assert applied.target_created
    # The authorizer trusts the platform's own issuer, the tokens' audience and scope.
    jwt = _request()["authorizerConfiguration"]["customJWTAuthorizer"]
    assert jwt["discoveryUrl"] == "https://api.agentry.example/.well-known/openid-configuration"
    assert jwt["allowedScopes"] == ["tools"]


def test_second_apply_updates_in_place_across_pages() -> None:
    client = _client()
    with Stubber(client) as stub:
        stub.add_response(
            "list_gateways",
            {"items": [{**LISTED, "gatewayId": "gw-0", "name": "x"}], "nextToken": "p2"},
            {"maxResults": 100},
        )
        stub.add_response(
            "list_gateways", {"items": [LISTED]}, {"maxResults": 100, "nextToken": "p2"}
        )
        stub.add_response("update_gateway", GW, {"gatewayIdentifier": "gw-1", **_request()})
        listed = {
            "targetId": "tgt-1",
            "name": PLATFORM_TARGET,
            "status": "READY",
            "createdAt": T,
            "updatedAt": T,
        }
        stub.add_response(
            "list_gateway_targets",
            {"items": [listed]},
            {"gatewayIdentifier": "gw-1", "maxResults": 100},
        )
        stub.add_response(
            "update_gateway_target",
            TARGET_OUT,
            {"gatewayIdentifier": "gw-1", "targetId": "tgt-1", **TARGET},
        )
        applied = apply_gateway(client, SPEC)
        stub.assert_no_pending_responses()
    assert not applied.gateway_created
    assert not applied.target_created
    assert applied.target_id == "tgt-1"

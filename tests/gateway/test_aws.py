"""The AgentCore Gateway definition against botocore's service model (Stubber validates every
parameter against `bedrock-agentcore-control`; AWS itself is not reached)."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ParamValidationError
from botocore.stub import Stubber

from agentry.agent_auth.tokens import TokenSigner
from agentry.gateway.aws import create_gateway_request

ISSUER = "https://api.agentry.example"
ROLE = "arn:aws:iam::123456789012:role/agentry-gateway"
LAMBDA = "arn:aws:lambda:eu-west-1:123456789012:function:agentry-interceptor"


def _client() -> object:
    return boto3.client(
        "bedrock-agentcore-control",
        region_name="eu-west-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def test_create_gateway_request_is_valid_for_agentcore(tmp_path: Path) -> None:
    request = create_gateway_request(
        name="agentry-tools", role_arn=ROLE, issuer=ISSUER + "/", interceptor_lambda_arn=LAMBDA
    )
    client = _client()
    with Stubber(client) as stub:  # type: ignore[arg-type]
        stub.add_response(
            "create_gateway",
            {
                "gatewayArn": "arn:aws:bedrock-agentcore:eu-west-1:123456789012:gateway/gw-1",
                "gatewayId": "gw-1",
                "name": "agentry-tools",
                "status": "CREATING",
                "createdAt": "2026-12-01T00:00:00Z",
                "updatedAt": "2026-12-01T00:00:00Z",
                "authorizerType": "CUSTOM_JWT",
                "protocolType": "MCP",
            },
            request,
        )
        answer = client.create_gateway(**request)  # type: ignore[attr-defined]
    assert answer["gatewayId"] == "gw-1"
    jwt_auth = request["authorizerConfiguration"]["customJWTAuthorizer"]
    # The authorizer reads the same discovery document the platform serves for its tokens.
    signer = TokenSigner(tmp_path, issuer=ISSUER)
    assert jwt_auth["discoveryUrl"] == signer.discovery()["issuer"] + (
        "/.well-known/openid-configuration"
    )
    assert jwt_auth["allowedAudience"] == [signer.audience]
    assert request["interceptorConfigurations"][0]["interceptionPoints"] == ["REQUEST", "RESPONSE"]


def test_botocore_refuses_a_malformed_definition() -> None:
    request = create_gateway_request(
        name="agentry-tools", role_arn=ROLE, issuer=ISSUER, interceptor_lambda_arn=LAMBDA
    )
    request["interceptorConfigurations"][0]["interceptionPoints"] = "REQUEST"
    with pytest.raises(ParamValidationError):
        _client().create_gateway(**request)  # type: ignore[attr-defined]

"""How the tool gateway maps onto AgentCore Gateway in AWS: one `CreateGateway` request.

- Inbound auth: `customJWTAuthorizer` on the platform's own invocation-token issuer (its OIDC
  discovery URL), the tokens' audience, and the `tools` scope.
- Interceptors: the platform's Lambda (`agentry.gateway.lambda_handler.handler`) at both
  interception points, with request headers passed so it sees the bearer token.
The infrastructure code creates the gateway from this; the request shape is checked against
botocore's model of `bedrock-agentcore-control` in the tests (AWS itself is not reached here).
"""

from __future__ import annotations

from typing import Any

from agentry.agent_auth.tokens import AUDIENCE, DISCOVERY_PATH


def authorizer_configuration(issuer: str, audience: str = AUDIENCE) -> dict[str, Any]:
    return {
        "customJWTAuthorizer": {
            "discoveryUrl": f"{issuer.rstrip('/')}{DISCOVERY_PATH}",
            "allowedAudience": [audience],
            "allowedScopes": ["tools"],
        }
    }


def create_gateway_request(
    *,
    name: str,
    role_arn: str,
    issuer: str,
    interceptor_lambda_arn: str,
    audience: str = AUDIENCE,
    kms_key_arn: str | None = None,
) -> dict[str, Any]:
    """Keyword arguments of `bedrock-agentcore-control.create_gateway`."""
    request: dict[str, Any] = {
        "name": name,
        "roleArn": role_arn,
        "protocolType": "MCP",
        "authorizerType": "CUSTOM_JWT",
        "authorizerConfiguration": authorizer_configuration(issuer, audience),
        "interceptorConfigurations": [
            {
                "interceptor": {"lambda": {"arn": interceptor_lambda_arn}},
                "interceptionPoints": ["REQUEST", "RESPONSE"],
                "inputConfiguration": {"passRequestHeaders": True},
            }
        ],
    }
    if kms_key_arn:
        request["kmsKeyArn"] = kms_key_arn
    return request

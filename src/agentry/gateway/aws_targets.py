"""The AWS side of an external MCP tool target: an AgentCore Gateway target of type `mcpServer`.

In the `aws` profile (with `AGENTRY_GATEWAY_ID` set) registering a target also calls
`CreateGatewayTarget` with `targetConfiguration.mcp.mcpServer.endpoint`, and removing it calls
`DeleteGatewayTarget`. A credential header becomes an AgentCore Identity API-key credential
provider the target sends in that header. Parameter names are checked against botocore's
service model (tests/gateway/test_aws_targets.py uses `Stubber`); AWS itself was not exercised.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class AwsTarget:
    target_id: str
    credential_provider: str | None = None


class AgentCoreTargets:
    def __init__(self, gateway_id: str, client: Any = None, region: str = "eu-west-1") -> None:
        self.gateway_id = gateway_id
        if client is None:
            import boto3  # type: ignore[import-untyped]

            client = boto3.client("bedrock-agentcore-control", region_name=region)
        self.client = client

    def _provider_name(self, name: str) -> str:
        return f"agentry-tool-target-{name}"

    def create(self, name: str, url: str, auth_header: tuple[str, str] | None) -> AwsTarget:
        target: dict[str, Any] = {
            "gatewayIdentifier": self.gateway_id,
            "name": name,
            "description": f"Agentry tool target {name}",
            "clientToken": hashlib.sha256(f"{name} {url}".encode()).hexdigest()[:64],
            "targetConfiguration": {"mcp": {"mcpServer": {"endpoint": url}}},
        }
        provider = None
        if auth_header is not None:
            header, value = auth_header
            provider = self._provider_name(name)
            arn = self.client.create_api_key_credential_provider(name=provider, apiKey=value)[
                "credentialProviderArn"
            ]
            target["credentialProviderConfigurations"] = [
                {
                    "credentialProviderType": "API_KEY",
                    "credentialProvider": {
                        "apiKeyCredentialProvider": {
                            "providerArn": arn,
                            "credentialParameterName": header,
                            "credentialLocation": "HEADER",
                        }
                    },
                }
            ]
        created = self.client.create_gateway_target(**target)
        return AwsTarget(created["targetId"], provider)

    def delete(self, target_id: str, *, had_credential: bool, name: str) -> None:
        self.client.delete_gateway_target(gatewayIdentifier=self.gateway_id, targetId=target_id)
        if had_credential:
            self.client.delete_api_key_credential_provider(name=self._provider_name(name))

    async def acreate(self, name: str, url: str, auth_header: tuple[str, str] | None) -> AwsTarget:
        return await asyncio.to_thread(self.create, name, url, auth_header)

    async def adelete(self, target_id: str, *, had_credential: bool, name: str) -> None:
        await asyncio.to_thread(self.delete, target_id, had_credential=had_credential, name=name)

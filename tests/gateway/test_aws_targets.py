"""The AWS edge of tool targets, with botocore's Stubber (request shapes validated by botocore).
AWS itself is not exercised."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest
from botocore.stub import ANY, Stubber

from agentry.config import Settings
from agentry.gateway.aws_targets import AgentCoreTargets
from agentry.gateway.targets import ToolTargets, ToolTargetUrlRefused
from agentry.gateway.tools import builtin_catalog
from agentry.webhooks.secretbox import SecretBox

GATEWAY = "gw-0123456789"


def test_create_and_delete_an_mcp_server_target_with_its_credential() -> None:
    client = boto3.client(
        "bedrock-agentcore-control",
        region_name="eu-west-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
    )
    arn = "arn:aws:bedrock-agentcore:eu-west-1:000000000000:token-vault/default/apikey/p"
    with Stubber(client) as stub:
        stub.add_response(
            "create_api_key_credential_provider",
            {
                "name": "agentry-tool-target-crm",
                "credentialProviderArn": arn,
                "apiKeySecretArn": {"secretArn": "arn:aws:secretsmanager:eu-west-1:0:secret:s"},
            },
            {"name": "agentry-tool-target-crm", "apiKey": "k"},
        )
        stub.add_response(
            "create_gateway_target",
            {
                "gatewayArn": "arn:aws:bedrock-agentcore:eu-west-1:000000000000:gateway/gw",
                "targetId": "TGT0000001",
                "createdAt": "2026-12-01T00:00:00Z",
                "updatedAt": "2026-12-01T00:00:00Z",
                "status": "CREATING",
                "name": "crm",
                "targetConfiguration": {
                    "mcp": {"mcpServer": {"endpoint": "https://crm.example/mcp"}}
                },
                "credentialProviderConfigurations": [{"credentialProviderType": "API_KEY"}],
            },
            {
                "gatewayIdentifier": GATEWAY,
                "name": "crm",
                "description": ANY,
                "clientToken": ANY,
                "targetConfiguration": {
                    "mcp": {"mcpServer": {"endpoint": "https://crm.example/mcp"}}
                },
                "credentialProviderConfigurations": [
                    {
                        "credentialProviderType": "API_KEY",
                        "credentialProvider": {
                            "apiKeyCredentialProvider": {
                                "providerArn": arn,
                                "credentialParameterName": "X-Api-Key",
                                "credentialLocation": "HEADER",
                            }
                        },
                    }
                ],
            },
        )
        stub.add_response(
            "delete_gateway_target",
            {"gatewayArn": "arn:x", "targetId": "TGT0000001", "status": "DELETING"},
            {"gatewayIdentifier": GATEWAY, "targetId": "TGT0000001"},
        )
        stub.add_response(
            "delete_api_key_credential_provider", {}, {"name": "agentry-tool-target-crm"}
        )
        targets = AgentCoreTargets(GATEWAY, client=client)
        created = targets.create("crm", "https://crm.example/mcp", ("X-Api-Key", "k"))
        assert created.target_id == "TGT0000001"
        targets.delete(created.target_id, had_credential=True, name="crm")
        stub.assert_no_pending_responses()


async def test_outside_the_local_profile_only_public_https_urls_are_accepted(
    tmp_path: Path,
) -> None:
    async def resolver(host: str, _port: int) -> list[str]:
        return {"internal.example": ["10.0.0.5"], "public.example": ["93.184.215.14"]}[host]

    aws = Settings(
        home=tmp_path,
        profile="aws",
        public_url="https://api.agentry.example",
        api_key_pepper="p",
        tool_target_allow_private=True,
        webhook_secret_key="x" * 43 + "=",
    )
    targets = ToolTargets(aws, builtin_catalog(), SecretBox(aws), resolver=resolver)
    with pytest.raises(ToolTargetUrlRefused, match="private"):
        await targets.guard("https://internal.example/mcp")  # the DEV ONLY flag is ignored
    with pytest.raises(ToolTargetUrlRefused, match="https"):
        await targets.guard("http://public.example/mcp")
    assert (await targets.guard("https://public.example/mcp")).address == "93.184.215.14"

    local = Settings(home=tmp_path)
    targets = ToolTargets(local, builtin_catalog(), SecretBox(local), resolver=resolver)
    with pytest.raises(ToolTargetUrlRefused, match="private"):
        await targets.guard("http://internal.example/mcp")  # not without the DEV ONLY flag

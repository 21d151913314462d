"""IAM statements the platform's tasks need for AgentCore, shared by the API/worker task role
(same account) and the platform access role (Option B's second account)."""

from __future__ import annotations

from aws_cdk import aws_iam as iam

AGENTCORE_PRINCIPAL = "bedrock-agentcore.amazonaws.com"
RUNTIME_ACTIONS = [
    "bedrock-agentcore:CreateAgentRuntime",
    "bedrock-agentcore:UpdateAgentRuntime",
    "bedrock-agentcore:GetAgentRuntime",
    "bedrock-agentcore:DeleteAgentRuntime",
    "bedrock-agentcore:ListAgentRuntimeVersions",
    "bedrock-agentcore:CreateAgentRuntimeEndpoint",
    "bedrock-agentcore:UpdateAgentRuntimeEndpoint",
    "bedrock-agentcore:GetAgentRuntimeEndpoint",
    "bedrock-agentcore:ListAgentRuntimeEndpoints",
    "bedrock-agentcore:InvokeAgentRuntime",
    "bedrock-agentcore:StopRuntimeSession",
]
GATEWAY_TARGET_ACTIONS = [
    "bedrock-agentcore:CreateGatewayTarget",
    "bedrock-agentcore:UpdateGatewayTarget",
    "bedrock-agentcore:DeleteGatewayTarget",
    "bedrock-agentcore:GetGatewayTarget",
    "bedrock-agentcore:ListGatewayTargets",
    "bedrock-agentcore:SynchronizeGatewayTargets",
    "bedrock-agentcore:GetGateway",  # the policy sync reads the Gateway's engine
]
# The platform policy set's tool rules, synced into the engine this stack attached to the
# Gateway (src/agentry/policy/aws.py). Not UpdateGateway nor CreatePolicyEngine: with the
# engine attached here the platform never changes the Gateway.
POLICY_ACTIONS = [
    "bedrock-agentcore:GetPolicyEngine",
    "bedrock-agentcore:ListPolicies",
    "bedrock-agentcore:CreatePolicy",
    "bedrock-agentcore:UpdatePolicy",
    "bedrock-agentcore:DeletePolicy",
]


def runtimes_arn(region: str, account: str) -> str:
    return f"arn:aws:bedrock-agentcore:{region}:{account}:runtime/*"


def gateways_arn(region: str, account: str) -> str:
    return f"arn:aws:bedrock-agentcore:{region}:{account}:gateway/*"


def policy_engines_arn(region: str, account: str) -> str:
    return f"arn:aws:bedrock-agentcore:{region}:{account}:policy-engine/*"


def agentcore_statements(
    regions: tuple[str, ...], account: str, runtime_role_arns: list[str]
) -> list[iam.PolicyStatement]:
    return [
        iam.PolicyStatement(
            sid="Runtimes",
            actions=RUNTIME_ACTIONS,
            resources=[runtimes_arn(r, account) for r in regions],
        ),
        iam.PolicyStatement(
            sid="ListRuntimes", actions=["bedrock-agentcore:ListAgentRuntimes"], resources=["*"]
        ),
        iam.PolicyStatement(
            sid="GatewayTargets",
            actions=GATEWAY_TARGET_ACTIONS,
            resources=[gateways_arn(r, account) for r in regions],
        ),
        iam.PolicyStatement(
            sid="PlatformPolicies",
            actions=POLICY_ACTIONS,
            resources=[policy_engines_arn(r, account) for r in regions],
        ),
        iam.PolicyStatement(
            sid="PassRuntimeRole",
            actions=["iam:PassRole"],
            resources=runtime_role_arns,
            conditions={"StringEquals": {"iam:PassedToService": AGENTCORE_PRINCIPAL}},
        ),
    ]


def wildcard_reasons(regions: tuple[str, ...], account: str) -> dict[str, str]:
    """cdk-nag IAM5 findings of `agentcore_statements`, each with its justification."""
    reasons = {"Resource::*": "ListAgentRuntimes has no resource-level permission."}
    for r in regions:
        reasons[f"Resource::{runtimes_arn(r, account)}"] = (
            "Per-agent runtimes are created by the platform at push time (platform-owned), so "
            "CDK cannot name them; scoped to one account and region."
        )
        reasons[f"Resource::{gateways_arn(r, account)}"] = (
            "The gateway lives in the runtime region's stack and its id is only known after "
            "deploy; scoped to one account and region, target actions and GetGateway only."
        )
        reasons[f"Resource::{policy_engines_arn(r, account)}"] = (
            "The engine's id is only known after deploy, and the platform's policies in it are "
            "created at run time (platform-owned); scoped to one account and region, policy "
            "actions only."
        )
    return reasons

"""AgentCore in one runtime region: the runtime execution role, the Gateway with its JWT
authorizer, interceptor Lambda and Cedar policy engine, and the platform's access role.

CDK owns what exists once per region and account. The platform owns what exists per agent:
`agentry agent push` creates or updates one AgentCore Runtime per agent (from the zip in the
artifacts bucket) and moves its endpoints (aliases), so pushes never need a CDK deploy and a
CloudFormation stack never fights the platform over a runtime's version.

Uses the stable L2 `aws_cdk.aws_bedrockagentcore` constructs (aws-cdk-lib 2.275).
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_bedrockagentcore as agentcore
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from agentry_infra import images, nag, permissions
from agentry_infra.common import retention
from agentry_infra.config import EnvConfig

TOKEN_AUDIENCE = "agentry-agent"  # agentry.agent_auth.tokens.AUDIENCE
DISCOVERY_PATH = "/.well-known/openid-configuration"
AGENTCORE_PRINCIPAL = permissions.AGENTCORE_PRINCIPAL


def runtime_role_name(config: EnvConfig, region: str) -> str:
    return f"{config.prefix()}-runtime-{region}"


def platform_access_role_name(config: EnvConfig, region: str) -> str:
    return f"{config.prefix()}-platform-{region}"


def gateway_id_parameter(config: EnvConfig) -> str:
    return f"/{config.prefix()}/gateway-id"


class AgentCoreStack(cdk.Stack):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        config: EnvConfig,
        artifacts_bucket_arn: str,
        home_account: str,
        **kw: object,
    ) -> None:
        super().__init__(scope, id, **kw)  # type: ignore[arg-type]
        self.runtime_role = self._runtime_role(config, artifacts_bucket_arn)
        self.key = kms.Key(
            self,
            "Key",
            alias=f"alias/{config.prefix()}-gateway",
            description="Agentry AgentCore Gateway",
            enable_key_rotation=True,
        )
        self.interceptor = self._interceptor(config)
        self.policy_engine = agentcore.PolicyEngine(
            self,
            "PolicyEngine",
            policy_engine_name=f"{config.prefix().replace('-', '_')}_tools",
            description="Gateway-level Cedar guard; per-tool tier rules run in the interceptor",
            kms_key=self.key,
        )
        self.gateway = agentcore.Gateway(
            self,
            "Gateway",
            gateway_name=f"{config.prefix()}-tools",
            description="Agentry tool gateway (MCP)",
            authorizer_configuration=agentcore.GatewayAuthorizer.using_custom_jwt(
                discovery_url=f"{config.token_issuer}{DISCOVERY_PATH}",
                allowed_audience=[TOKEN_AUDIENCE],
                allowed_scopes=["tools"],
            ),
            interceptor_configurations=[
                agentcore.LambdaInterceptor.for_request(
                    self.interceptor, pass_request_headers=True
                ),
                # The response event carries the request too (its token decides PII redaction).
                agentcore.LambdaInterceptor.for_response(
                    self.interceptor, pass_request_headers=True
                ),
            ],
            kms_key=self.key,
            policy_engine_configuration=agentcore.GatewayPolicyEngineConfig(
                policy_engine=self.policy_engine, mode=agentcore.PolicyEngineMode.ENFORCE
            ),
            exception_level=agentcore.GatewayExceptionLevel.DEBUG if config.name == "dev" else None,
        )
        nag.acknowledge(
            self.gateway,
            "IAM5[Action::kms:GenerateDataKey*]",
            "The Gateway's own role encrypts with this stack's Gateway key only (the "
            "construct's KMS grant).",
        )
        nag.acknowledge(
            self.gateway,
            "IAM5[Action::kms:ReEncrypt*]",
            "The Gateway's own role re-encrypts with this stack's Gateway key only.",
        )
        nag.acknowledge(
            self.gateway,
            f"IAM5[Resource::<{self.get_logical_id(self.interceptor.node.default_child)}.Arn>:*]",  # type: ignore[arg-type]
            "The Gateway may invoke the interceptor function's versions and aliases; it is "
            "one function.",
        )
        # Once an engine is attached the default is deny: admit only platform invocation
        # tokens (they carry tenant and tier claims); the tier-per-tool decision is the
        # interceptor's, with the same Cedar policy as locally (gateway/policies/tiers.v1.cedar).
        agentcore.Policy(
            self,
            "PlatformTokensOnly",
            policy_engine=self.policy_engine,
            policy_name="platform_tokens_only",
            description="Tool calls need a platform invocation token (tenant and tier claims)",
            statement=agentcore.PolicyStatement.from_cedar(
                "permit(principal is AgentCore::OAuthUser, action, resource == "
                f'AgentCore::Gateway::"{self.gateway.gateway_arn}") when '
                '{ principal.hasTag("tenant") && principal.hasTag("tier") };'
            ),
        )
        ssm.StringParameter(
            self,
            "GatewayIdParameter",
            parameter_name=gateway_id_parameter(config),
            string_value=self.gateway.gateway_id,
            description="This region's Gateway id (AGENTRY_GATEWAY_ID; see docs/deployment.md)",
        )
        # Option B: the home account's tasks reach a second account through this role.
        if self.account != home_account:
            self.platform_role = self._platform_access_role(config, home_account)
        self._alarms(config)
        cdk.CfnOutput(self, "GatewayId", value=self.gateway.gateway_id)
        cdk.CfnOutput(self, "GatewayUrl", value=self.gateway.gateway_url or "")
        cdk.CfnOutput(self, "RuntimeRoleArn", value=self.runtime_role.role_arn)

    def _alarms(self, config: EnvConfig) -> None:
        """This region's alarms (CloudWatch alarms see their own region's metrics only)."""
        from agentry_infra.stacks.observability import alarm_topic

        action = actions.SnsAction(alarm_topic(self, config))
        five = cdk.Duration.minutes(5)
        greater_or_equal = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
        not_breaching = cloudwatch.TreatMissingData.NOT_BREACHING
        alarms = [
            self.gateway.metric_system_errors(period=five, statistic="Sum").create_alarm(
                self, "GatewaySystemErrors", alarm_description="Gateway 5xx (system errors)",
                threshold=5, evaluation_periods=1, comparison_operator=greater_or_equal,
                treat_missing_data=not_breaching,
            ),
            self.interceptor.metric_errors(period=five, statistic="Sum").create_alarm(
                self, "InterceptorErrors", alarm_description="Interceptor Lambda errors",
                threshold=1, evaluation_periods=1, comparison_operator=greater_or_equal,
                treat_missing_data=not_breaching,
            ),
            self.interceptor.metric_throttles(period=five, statistic="Sum").create_alarm(
                self, "InterceptorThrottles", alarm_description="Interceptor Lambda throttled",
                threshold=1, evaluation_periods=1, comparison_operator=greater_or_equal,
                treat_missing_data=not_breaching,
            ),
            # Runtimes are platform-owned (ids unknown here): one Metrics Insights query over
            # every runtime of the account in this region.
            cloudwatch.MathExpression(
                expression='SELECT SUM(SystemErrors) FROM "AWS/Bedrock-AgentCore"',
                using_metrics={},
                label="Runtime system errors",
                period=five,
            ).create_alarm(
                self, "RuntimeSystemErrors", alarm_description="AgentCore runtime system errors",
                threshold=5, evaluation_periods=1, comparison_operator=greater_or_equal,
                treat_missing_data=not_breaching,
            ),
        ]  # fmt: skip
        for alarm in alarms:
            alarm.add_alarm_action(action)

    def _runtime_role(self, config: EnvConfig, artifacts_bucket_arn: str) -> iam.Role:
        """What an agent's microVM may do: write its logs, traces and metrics, call the
        configured Bedrock models, and get its workload token. Nothing else."""
        region, account = self.region, self.account
        role = iam.Role(
            self,
            "RuntimeRole",
            role_name=runtime_role_name(config, region),
            description="AgentCore Runtime execution role of every Agentry agent",
            assumed_by=iam.ServicePrincipal(
                AGENTCORE_PRINCIPAL,
                conditions={
                    "StringEquals": {"aws:SourceAccount": account},
                    "ArnLike": {"aws:SourceArn": f"arn:aws:bedrock-agentcore:{region}:{account}:*"},
                },
            ),
        )
        runtime_logs = (
            f"arn:aws:logs:{region}:{account}:log-group:/aws/bedrock-agentcore/runtimes/*"
        )
        statements = [
            iam.PolicyStatement(
                sid="RuntimeLogs",
                actions=[
                    "logs:CreateLogGroup",
                    "logs:CreateLogStream",
                    "logs:PutLogEvents",
                    "logs:DescribeLogStreams",
                ],
                resources=[runtime_logs, f"{runtime_logs}:log-stream:*"],
            ),
            iam.PolicyStatement(
                sid="Traces",
                actions=[
                    "xray:PutTraceSegments",
                    "xray:PutTelemetryRecords",
                    "xray:GetSamplingRules",
                    "xray:GetSamplingTargets",
                ],
                resources=["*"],
            ),
            iam.PolicyStatement(
                sid="Metrics",
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],
                conditions={"StringEquals": {"cloudwatch:namespace": "bedrock-agentcore"}},
            ),
            iam.PolicyStatement(
                sid="Models",
                actions=["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"],
                resources=[
                    *(f"arn:aws:bedrock:*::foundation-model/{m}" for m in config.bedrock_models),
                    *(
                        f"arn:aws:bedrock:{region}:{account}:inference-profile/eu.{m}"
                        for m in config.bedrock_models
                    ),
                ],
            ),
            iam.PolicyStatement(
                sid="WorkloadToken",
                actions=[
                    "bedrock-agentcore:GetWorkloadAccessToken",
                    "bedrock-agentcore:GetWorkloadAccessTokenForJWT",
                    "bedrock-agentcore:GetWorkloadAccessTokenForUserId",
                ],
                resources=[
                    f"arn:aws:bedrock-agentcore:{region}:{account}:workload-identity-directory/default",
                    f"arn:aws:bedrock-agentcore:{region}:{account}:workload-identity-directory/default/workload-identity/*",
                ],
            ),
            iam.PolicyStatement(
                sid="AgentCode",
                actions=["s3:GetObject"],
                resources=[f"{artifacts_bucket_arn}/agents/*"],
            ),
        ]
        for statement in statements:
            role.add_to_policy(statement)
        nag.acknowledge(
            role,
            "IAM5[Resource::*]",
            "X-Ray trace and sampling actions have no resource-level permissions; "
            "cloudwatch:PutMetricData is limited by the cloudwatch:namespace condition.",
        )
        nag.acknowledge(
            role,
            f"IAM5[Resource::arn:aws:logs:{region}:{account}:log-group:/aws/bedrock-agentcore/runtimes/*]",
            "AgentCore names each runtime's log group after the runtime id, which the "
            "platform creates at push time; the prefix is AgentCore's own.",
        )
        nag.acknowledge(
            role,
            f"IAM5[Resource::arn:aws:logs:{region}:{account}:log-group:/aws/bedrock-agentcore/runtimes/*:log-stream:*]",
            "Log streams are per session, named by AgentCore at run time.",
        )
        for model in config.bedrock_models:
            nag.acknowledge(
                role,
                f"IAM5[Resource::arn:aws:bedrock:*::foundation-model/{model}]",
                "EU cross-region inference profiles route a call to the model in any EU "
                "region; the model id is fixed, only the region varies.",
            )
        nag.acknowledge(
            role,
            f"IAM5[Resource::arn:aws:bedrock-agentcore:{region}:{account}:workload-identity-directory/default/workload-identity/*]",
            "Each agent's workload identity is created with its runtime by the platform at "
            "push time; the directory is fixed.",
        )
        nag.acknowledge(
            role,
            f"IAM5[Resource::{artifacts_bucket_arn}/agents/*]",
            "Agent code zips are keyed by agent and version under agents/; read-only.",
        )
        return role

    def _interceptor(self, config: EnvConfig) -> lambda_.DockerImageFunction:
        """agentry.gateway.lambda_handler.handler: the platform's interceptor chain."""
        name = f"{config.prefix()}-gateway-interceptor"
        log_group = logs.LogGroup(
            self,
            "InterceptorLogs",
            log_group_name=f"/aws/lambda/{name}",
            retention=retention(config.log_retention_days),
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        role = iam.Role(
            self,
            "InterceptorRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Gateway interceptor Lambda: its own log group only",
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[f"{log_group.log_group_arn}:log-stream:*"],
            )
        )
        nag.acknowledge(
            role,
            f"IAM5[Resource::<{self.get_logical_id(log_group.node.default_child)}.Arn>:log-stream:*]",  # type: ignore[arg-type]
            "Lambda names a log stream per execution environment; the group is this "
            "function's own.",
        )
        function = lambda_.DockerImageFunction(
            self,
            "Interceptor",
            function_name=name,
            description="Agentry interceptor chain (agentry.gateway.lambda_handler)",
            code=lambda_.DockerImageCode.from_image_asset(
                str(images.REPO_ROOT),
                file="Dockerfile",
                target=images.LAMBDA_TARGET,
                exclude=images.CONTEXT_EXCLUDE,
                platform=images.PLATFORM,
                ignore_mode=images.IGNORE_MODE,
            ),
            architecture=lambda_.Architecture.ARM_64,
            memory_size=512,
            timeout=cdk.Duration.seconds(10),
            role=role,
            log_group=log_group,
            tracing=lambda_.Tracing.ACTIVE,
            environment={
                "AGENTRY_OIDC_DISCOVERY_URL": f"{config.token_issuer}{DISCOVERY_PATH}",
                "AGENTRY_TOKEN_AUDIENCE": TOKEN_AUDIENCE,
            },
        )
        nag.acknowledge(
            role,
            "IAM5[Resource::*]",
            "Active tracing adds xray:PutTraceSegments/PutTelemetryRecords, which have no "
            "resource-level permissions.",
        )
        return function

    def _platform_access_role(self, config: EnvConfig, home_account: str) -> iam.Role:
        """Assumed by the API and worker tasks (home account) to manage runtimes and
        gateway targets here; in Option B's second account this is the only way in."""
        region, account = self.region, self.account
        role = iam.Role(
            self,
            "PlatformAccessRole",
            role_name=platform_access_role_name(config, region),
            description="Agentry API and workers: AgentCore control and data plane here",
            assumed_by=iam.AccountPrincipal(home_account).with_conditions(
                {
                    "ArnLike": {
                        "aws:PrincipalArn": f"arn:aws:iam::{home_account}:role/{config.prefix()}-*"
                    }
                }
            ),
            max_session_duration=cdk.Duration.hours(1),
        )
        for statement in permissions.agentcore_statements(
            (region,), account, [self.runtime_role.role_arn]
        ):
            role.add_to_policy(statement)
        for finding, reason in permissions.wildcard_reasons((region,), account).items():
            nag.acknowledge(role, f"IAM5[{finding}]", reason)
        return role

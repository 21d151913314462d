"""API: the platform's containers on ECS Fargate behind an internet-facing ALB with WAF, and
the job/webhook workers as a separate service. Health checks on /readyz; both autoscale.

The API deploys through CodeDeploy blue/green as a canary (config `api_canary_percent` of
traffic for `api_canary_minutes`), rolled back by CodeDeploy when a canary alarm fires; the
pipeline's watcher (src/agentry/delivery/canary.py) reads the names from this stack's outputs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_codedeploy as codedeploy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_rds as rds
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from agentry_infra import images, nag, permissions
from agentry_infra.common import retention
from agentry_infra.config import EnvConfig
from agentry_infra.stacks.agentcore import platform_access_role_name, runtime_role_name
from agentry_infra.stacks.artifacts import bucket_name
from agentry_infra.stacks.cache import REDIS_PORT
from agentry_infra.stacks.data import DB_NAME

API_PORT = 8000
HEALTH_PATH = "/readyz"
API_CONTAINER = "api"
TEST_LISTENER_PORT = 9443
# The canary's limits: the same as the post-deploy verification's defaults (agentry deploy verify).
CANARY_MAX_5XX_PERCENT = 1.0
CANARY_MAX_P99_S = 2.5


@dataclass(frozen=True)
class CanaryNames:
    """Names the CDK app gives the canary and the pipeline's watcher reads back (stack outputs)."""

    application: str
    deployment_group: str
    alarm_5xx: str
    alarm_p99: str
    task_family: str

    @property
    def alarms(self) -> tuple[str, str]:
        return (self.alarm_5xx, self.alarm_p99)


def canary_names(config: EnvConfig) -> CanaryNames:
    prefix = config.prefix()
    return CanaryNames(
        application=f"{prefix}-api",
        deployment_group=f"{prefix}-api",
        alarm_5xx=f"{prefix}-api-canary-5xx",
        alarm_p99=f"{prefix}-api-canary-p99",
        task_family=f"{prefix}-api",
    )


class ApiStack(cdk.Stack):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        config: EnvConfig,
        vpc: ec2.IVpc,
        app_sg: ec2.ISecurityGroup,
        alb_sg: ec2.ISecurityGroup,
        db: rds.DatabaseCluster,
        redis_host: str,
        redis_auth: secretsmanager.ISecret,
        pepper: secretsmanager.ISecret,
        signing_key: secretsmanager.ISecret,
        webhook_box_key: secretsmanager.ISecret,
        secret_keys: list[kms.IKey],
        **kw: object,
    ) -> None:
        super().__init__(scope, id, **kw)  # type: ignore[arg-type]
        cluster = ecs.Cluster(
            self,
            "Cluster",
            vpc=vpc,
            container_insights_v2=ecs.ContainerInsights.ENABLED,
        )
        image = ecs.ContainerImage.from_asset(
            str(images.REPO_ROOT),
            file="Dockerfile",
            target=images.API_TARGET,
            exclude=images.CONTEXT_EXCLUDE,
            platform=images.PLATFORM,
            ignore_mode=images.IGNORE_MODE,
        )
        task_role = self._task_role(config)
        assert db.secret is not None

        # Secrets are imported by ARN: the grants then land in the execution role's policy
        # here, not in the key policies of the stacks that own them (which would be a cycle).
        def imported(name: str, secret: secretsmanager.ISecret) -> secretsmanager.ISecret:
            return secretsmanager.Secret.from_secret_complete_arn(self, name, secret.secret_arn)

        db_secret = imported("DbSecret", db.secret)
        secrets = {
            "AGENTRY_API_KEY_PEPPER": ecs.Secret.from_secrets_manager(imported("Pepper", pepper)),
            "AGENTRY_WEBHOOK_SECRET_KEY": ecs.Secret.from_secrets_manager(
                imported("BoxKey", webhook_box_key)
            ),
            "AGENTRY_TOKEN_SIGNING_KEY_PEM": ecs.Secret.from_secrets_manager(
                imported("SigningKey", signing_key)
            ),
            "AGENTRY_DB_USER": ecs.Secret.from_secrets_manager(db_secret, "username"),
            "AGENTRY_DB_PASSWORD": ecs.Secret.from_secrets_manager(db_secret, "password"),
            "AGENTRY_REDIS_AUTH_TOKEN": ecs.Secret.from_secrets_manager(
                imported("RedisAuth", redis_auth)
            ),
        }
        environment = self._environment(config, db, redis_host, vpc)
        self.api_logs = logs.LogGroup(
            self, "ApiLogs", retention=retention(config.log_retention_days),
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )  # fmt: skip
        self.worker_logs = logs.LogGroup(
            self, "WorkerLogs", retention=retention(config.log_retention_days),
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )  # fmt: skip

        names = canary_names(config)
        api_task = ecs.FargateTaskDefinition(
            self, "ApiTask", cpu=config.api_cpu, memory_limit_mib=config.api_memory_mib,
            task_role=task_role, family=names.task_family,
            runtime_platform=ecs.RuntimePlatform(
                cpu_architecture=ecs.CpuArchitecture.ARM64,
                operating_system_family=ecs.OperatingSystemFamily.LINUX,
            ),
        )  # fmt: skip
        api_task.add_container(
            API_CONTAINER,
            image=image,
            command=["serve"],
            environment={**environment, "AGENTRY_MIGRATE_ON_START": "1"},
            secrets=secrets,
            port_mappings=[ecs.PortMapping(container_port=API_PORT)],
            logging=ecs.LogDrivers.aws_logs(stream_prefix="api", log_group=self.api_logs),
            health_check=ecs.HealthCheck(
                command=[
                    "CMD",
                    "python",
                    "-c",
                    "import urllib.request as u; "
                    f"u.urlopen('http://127.0.0.1:{API_PORT}/healthz', timeout=2)",
                ],
                interval=cdk.Duration.seconds(15),
                start_period=cdk.Duration.seconds(30),
            ),
            readonly_root_filesystem=False,
        )
        self.api_service = ecs.FargateService(
            self,
            "ApiService",
            cluster=cluster,
            task_definition=api_task,
            desired_count=config.api_min_tasks,
            security_groups=[app_sg],
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            # CodeDeploy shifts traffic between two task sets (blue/green); CloudFormation no
            # longer rolls out new task definitions here, the pipeline does (`make deploy-api`).
            deployment_controller=ecs.DeploymentController(
                type=ecs.DeploymentControllerType.CODE_DEPLOY
            ),
        )

        worker_task = ecs.FargateTaskDefinition(
            self, "WorkerTask", cpu=config.api_cpu, memory_limit_mib=config.api_memory_mib,
            task_role=task_role,
            runtime_platform=ecs.RuntimePlatform(
                cpu_architecture=ecs.CpuArchitecture.ARM64,
                operating_system_family=ecs.OperatingSystemFamily.LINUX,
            ),
        )  # fmt: skip
        worker_task.add_container(
            "worker",
            image=image,
            command=["worker"],
            environment=environment,
            secrets=secrets,
            logging=ecs.LogDrivers.aws_logs(stream_prefix="worker", log_group=self.worker_logs),
        )
        # Workers keep ECS rolling deploys: they take no traffic from the load balancer (they
        # pull jobs and webhooks from the database), so there is nothing to shift 10% of; the
        # circuit breaker rolls back a revision whose tasks do not stay up.
        self.worker_service = ecs.FargateService(
            self,
            "WorkerService",
            cluster=cluster,
            task_definition=worker_task,
            desired_count=config.worker_min_tasks,
            security_groups=[app_sg],
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            circuit_breaker=ecs.DeploymentCircuitBreaker(rollback=True),
            min_healthy_percent=100,
        )
        for task in (api_task, worker_task):
            assert task.execution_role is not None
            task.execution_role.add_to_principal_policy(
                iam.PolicyStatement(
                    sid="DecryptSecrets",
                    actions=["kms:Decrypt"],
                    resources=[key.key_arn for key in secret_keys],
                    conditions={
                        "StringEquals": {
                            "kms:ViaService": f"secretsmanager.{self.region}.amazonaws.com"
                        }
                    },
                )
            )
            nag.acknowledge(
                task.execution_role,
                "IAM5[Resource::*]",
                "ecr:GetAuthorizationToken has no resource-level permission (image pulls "
                "are limited to the asset repository).",
            )
        self.alb, self.listener, self.test_listener, self.target_groups = self._load_balancer(
            config, vpc, alb_sg
        )
        self.target_group = self.target_groups[0]  # blue: the service's first target group
        self.canary = self._canary(config, names)
        self.waf = self._waf(config)
        wafv2.CfnWebACLAssociation(
            self,
            "WafAlb",
            resource_arn=self.alb.load_balancer_arn,
            web_acl_arn=self.waf.attr_arn,
        )
        self._autoscaling(config)
        for task in (api_task, worker_task):
            nag.acknowledge(
                task,
                "ECS2",
                "Only non-secret settings (regions, URLs, bucket names) are environment "
                "variables; every secret comes from Secrets Manager via `secrets`.",
            )
        cdk.CfnOutput(self, "LoadBalancerDns", value=self.alb.load_balancer_dns_name)
        # Read by `agentry deploy api --stack` (canary.target_from_stack): literal names, so a
        # test can check them against the resources without resolving tokens.
        for key, value in {
            "CanaryApplication": names.application,
            "CanaryDeploymentGroup": names.deployment_group,
            "CanaryAlarms": ",".join(names.alarms),
            "ApiContainerName": API_CONTAINER,
            "ApiContainerPort": str(API_PORT),
            "ApiTaskFamily": names.task_family,
        }.items():
            cdk.CfnOutput(self, key, value=value)
        cdk.CfnOutput(self, "ApiUrl", value=config.token_issuer)

    def _environment(
        self, config: EnvConfig, db: rds.DatabaseCluster, redis_host: str, vpc: ec2.IVpc
    ) -> dict[str, str]:
        region = config.primary_runtime_region
        return {
            "AGENTRY_PROFILE": "aws",
            "AGENTRY_HOME": "/tmp/agentry",
            "AGENTRY_API_HOST": "0.0.0.0",
            "AGENTRY_API_PORT": str(API_PORT),
            "AGENTRY_PUBLIC_URL": config.token_issuer,
            "AGENTRY_TOKEN_ISSUER": config.token_issuer,
            "AGENTRY_TRUSTED_PROXIES": f'["{vpc.vpc_cidr_block}"]',
            "AGENTRY_JOBS_EMBEDDED_WORKERS": "false",
            "AGENTRY_RUNTIME_MODE": "agentcore",
            "AGENTRY_RUNTIME_URL": f"https://bedrock-agentcore.{region}.amazonaws.com",
            "AGENTRY_RUNTIME_CONTROL_URL": f"https://bedrock-agentcore-control.{region}.amazonaws.com",
            "AGENTRY_RUNTIME_SIGN_REQUESTS": "true",
            "AGENTRY_AWS_REGION": region,
            # RUNBOOK-001: every runtime region in failover order (AWS's public endpoints).
            "AGENTRY_RUNTIME_REGIONS": json.dumps({r: {} for r in config.runtime_regions}),
            "AGENTRY_AWS_ACCOUNT_ID": config.account,
            "AGENTRY_RUNTIME_ROLE_ARN": (
                f"arn:aws:iam::{config.account}:role/{runtime_role_name(config, region)}"
            ),
            "AGENTRY_ARTIFACT_BUCKET": bucket_name(config, config.account, region),
            "AGENTRY_DB_HOST": db.cluster_endpoint.hostname,
            "AGENTRY_DB_PORT": str(db.cluster_endpoint.port),
            "AGENTRY_DB_NAME": DB_NAME,
            "AGENTRY_REDIS_HOST": redis_host,
            "AGENTRY_REDIS_PORT": str(REDIS_PORT),
            "AGENTRY_LOG_JSON": "true",
            # Known after the AgentCore stack's first deploy (its GatewayId output); see
            # docs/deployment.md. Empty: tool targets are served by the API only.
            "AGENTRY_GATEWAY_ID": config.gateway_id,
        }

    def _task_role(self, config: EnvConfig) -> iam.Role:
        """API and workers: AgentCore in the runtime regions, agent zips, Option B's role."""
        role = iam.Role(
            self,
            "TaskRole",
            role_name=f"{config.prefix()}-api-task",
            assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"),
            description="Agentry API and worker tasks",
        )
        regions = config.runtime_regions
        runtime_roles = [
            f"arn:aws:iam::{config.account}:role/{runtime_role_name(config, r)}" for r in regions
        ]
        for statement in permissions.agentcore_statements(regions, config.account, runtime_roles):
            role.add_to_policy(statement)
        buckets = [f"arn:aws:s3:::{bucket_name(config, config.account, r)}" for r in regions]
        role.add_to_policy(
            iam.PolicyStatement(
                sid="AgentCode",
                actions=["s3:PutObject", "s3:GetObject", "s3:GetObjectVersion"],
                resources=[f"{b}/agents/*" for b in buckets],
            )
        )
        for finding, reason in permissions.wildcard_reasons(regions, config.account).items():
            nag.acknowledge(role, f"IAM5[{finding}]", reason)
        for b in buckets:
            nag.acknowledge(
                role,
                f"IAM5[Resource::{b}/agents/*]",
                "Agent code zips are written by push under agents/<name>/<version>; only "
                "that prefix.",
            )
        if config.second_runtime_account:
            role.add_to_policy(
                iam.PolicyStatement(
                    sid="OptionBAccount",
                    actions=["sts:AssumeRole"],
                    resources=[
                        f"arn:aws:iam::{config.second_runtime_account}:role/"
                        f"{platform_access_role_name(config, r)}"
                        for r in regions
                    ],
                )
            )
        return role

    def _load_balancer(
        self, config: EnvConfig, vpc: ec2.IVpc, alb_sg: ec2.ISecurityGroup
    ) -> tuple[
        elbv2.ApplicationLoadBalancer,
        elbv2.ApplicationListener,
        elbv2.ApplicationListener,
        tuple[elbv2.ApplicationTargetGroup, elbv2.ApplicationTargetGroup],
    ]:
        logs_bucket = s3.Bucket(
            self,
            "AlbLogs",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            lifecycle_rules=[s3.LifecycleRule(expiration=cdk.Duration.days(90))],
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        nag.acknowledge(
            logs_bucket,
            "S1",
            "This bucket holds the load balancer's access logs; logging it into another "
            "bucket adds nothing an auditor needs.",
        )
        alb = elbv2.ApplicationLoadBalancer(
            self,
            "Alb",
            vpc=vpc,
            internet_facing=True,
            security_group=alb_sg,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC),
            drop_invalid_header_fields=True,
            deletion_protection=config.deletion_protection,
        )
        alb.log_access_logs(logs_bucket, prefix="alb")
        certificate = (
            acm.Certificate.from_certificate_arn(self, "Cert", config.certificate_arn)
            if config.certificate_arn
            else acm.Certificate(
                self,
                "Cert",
                domain_name=config.api_domain,
                validation=acm.CertificateValidation.from_dns(),
            )
        )
        https = alb.add_listener(
            "Https",
            port=443,
            certificates=[certificate],
            ssl_policy=elbv2.SslPolicy.RECOMMENDED_TLS,
            open=False,
        )
        alb.add_redirect(source_port=80, target_port=443)
        health_check = elbv2.HealthCheck(
            path=HEALTH_PATH,
            healthy_http_codes="200",
            interval=cdk.Duration.seconds(15),
            healthy_threshold_count=2,
            unhealthy_threshold_count=3,
        )
        blue = https.add_targets(
            "Api",
            port=API_PORT,
            protocol=elbv2.ApplicationProtocol.HTTP,
            targets=[self.api_service],
            health_check=health_check,
            deregistration_delay=cdk.Duration.seconds(30),
        )
        # Green: CodeDeploy registers the new task set here, and swaps the two groups' roles
        # at the end of each deployment.
        green = elbv2.ApplicationTargetGroup(
            self,
            "ApiGreen",
            vpc=vpc,
            port=API_PORT,
            protocol=elbv2.ApplicationProtocol.HTTP,
            target_type=elbv2.TargetType.IP,
            health_check=health_check,
            deregistration_delay=cdk.Duration.seconds(30),
        )
        # The test listener routes to the new tasks before they take any production traffic.
        # `open=False` and no rule in the ALB's security group for its port: not reachable from
        # the internet; an operator who wants to try a green task set adds their own /32 for
        # the length of a deployment (docs/deployment.md).
        test = alb.add_listener(
            "Test",
            port=TEST_LISTENER_PORT,
            protocol=elbv2.ApplicationProtocol.HTTPS,
            certificates=[certificate],
            ssl_policy=elbv2.SslPolicy.RECOMMENDED_TLS,
            open=False,
            default_target_groups=[green],
        )
        return alb, https, test, (blue, green)

    def _waf(self, config: EnvConfig) -> wafv2.CfnWebACL:
        def managed(name: str, priority: int) -> wafv2.CfnWebACL.RuleProperty:
            return wafv2.CfnWebACL.RuleProperty(
                name=name,
                priority=priority,
                override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
                statement=wafv2.CfnWebACL.StatementProperty(
                    managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                        vendor_name="AWS", name=name
                    )
                ),
                visibility_config=_visibility(name),
            )

        rate = wafv2.CfnWebACL.RuleProperty(
            name="RatePerIp",
            priority=0,
            action=wafv2.CfnWebACL.RuleActionProperty(block={}),
            statement=wafv2.CfnWebACL.StatementProperty(
                rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                    limit=3000, aggregate_key_type="IP"
                )
            ),
            visibility_config=_visibility("RatePerIp"),
        )
        return wafv2.CfnWebACL(
            self,
            "Waf",
            name=f"{config.prefix()}-api",
            scope="REGIONAL",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            visibility_config=_visibility(f"{config.prefix()}-api"),
            rules=[
                rate,
                managed("AWSManagedRulesAmazonIpReputationList", 1),
                managed("AWSManagedRulesCommonRuleSet", 2),
                managed("AWSManagedRulesKnownBadInputsRuleSet", 3),
            ],
        )

    def _canary(self, config: EnvConfig, names: CanaryNames) -> codedeploy.EcsDeploymentGroup:
        """CodeDeploy blue/green: a canary in staging and prod, rolled back on an alarm."""
        minute = cdk.Duration.minutes(1)
        blue, green = self.target_groups

        # Per target group (blue and green swap roles every deployment): the worse of the two
        # groups' target 5xx rates, and the load balancer's own 5xx (a green task that does not
        # answer shows as an ELB 502/504, not as a target 5xx).
        # (Metric ids are one namespace across the nested expressions: hence the prefixes.)
        def rate(
            name: str, errors: cloudwatch.IMetric, requests: cloudwatch.IMetric
        ) -> cloudwatch.MathExpression:
            return cloudwatch.MathExpression(
                expression=f"IF({name}req > 0, 100 * {name}err / {name}req, 0)",
                using_metrics={f"{name}err": errors, f"{name}req": requests},
                period=minute,
            )

        def target_rate(
            name: str, group: elbv2.ApplicationTargetGroup
        ) -> cloudwatch.MathExpression:
            return rate(
                name,
                group.metrics.http_code_target(
                    elbv2.HttpCodeTarget.TARGET_5XX_COUNT, period=minute, statistic="Sum"
                ),
                group.metrics.request_count(period=minute, statistic="Sum"),
            )

        five_xx = cloudwatch.MathExpression(
            expression="MAX([blue, green, elb])",
            using_metrics={
                "blue": target_rate("blue", blue),
                "green": target_rate("green", green),
                "elb": rate(
                    "elb",
                    self.alb.metrics.http_code_elb(
                        elbv2.HttpCodeElb.ELB_5XX_COUNT, period=minute, statistic="Sum"
                    ),
                    self.alb.metrics.request_count(period=minute, statistic="Sum"),
                ),
            },
            label="API 5xx % (worst target group, or the load balancer)",
            period=minute,
        )
        alarm_5xx = five_xx.create_alarm(
            self,
            "Canary5xx",
            alarm_name=names.alarm_5xx,
            alarm_description=(
                f"Canary: API 5xx above {CANARY_MAX_5XX_PERCENT:g}% of requests for 2 minutes; "
                "CodeDeploy rolls the deployment back. "
                "Runbook: docs/runbooks/RUNBOOK-017-failed-deploy.md"
            ),
            threshold=CANARY_MAX_5XX_PERCENT,
            evaluation_periods=2,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        # p99 over the whole load balancer: with 10% of traffic on slow new tasks, the slowest
        # 1% of all requests are theirs.
        alarm_p99 = self.alb.metrics.target_response_time(
            period=minute, statistic="p99"
        ).create_alarm(
            self,
            "CanaryP99",
            alarm_name=names.alarm_p99,
            alarm_description=(
                f"Canary: API p99 latency above {CANARY_MAX_P99_S:g} s for 2 minutes; "
                "CodeDeploy rolls the deployment back. "
                "Runbook: docs/runbooks/RUNBOOK-017-failed-deploy.md"
            ),
            threshold=CANARY_MAX_P99_S,
            evaluation_periods=2,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        if config.api_canary_percent:
            deployment_config: codedeploy.IEcsDeploymentConfig = codedeploy.EcsDeploymentConfig(
                self,
                "CanaryConfig",
                deployment_config_name=(
                    f"{config.prefix()}-api-canary-{config.api_canary_percent}pct-"
                    f"{config.api_canary_minutes}min"
                ),
                traffic_routing=codedeploy.TimeBasedCanaryTrafficRouting(
                    interval=cdk.Duration.minutes(config.api_canary_minutes),
                    percentage=config.api_canary_percent,
                ),
            )
        else:
            deployment_config = codedeploy.EcsDeploymentConfig.ALL_AT_ONCE
        application = codedeploy.EcsApplication(
            self, "CodeDeployApp", application_name=names.application
        )
        group = codedeploy.EcsDeploymentGroup(
            self,
            "CodeDeployGroup",
            application=application,
            deployment_group_name=names.deployment_group,
            service=self.api_service,
            blue_green_deployment_config=codedeploy.EcsBlueGreenDeploymentConfig(
                blue_target_group=blue,
                green_target_group=green,
                listener=self.listener,
                test_listener=self.test_listener,
                termination_wait_time=cdk.Duration.minutes(config.api_blue_kept_minutes),
            ),
            deployment_config=deployment_config,
            alarms=[alarm_5xx, alarm_p99],
            auto_rollback=codedeploy.AutoRollbackConfig(
                failed_deployment=True, stopped_deployment=True, deployment_in_alarm=True
            ),
        )
        nag.acknowledge(
            group,
            "IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AWSCodeDeployRoleForECS]",
            "CodeDeploy's ECS blue/green service role: the AWS-maintained policy follows the "
            "ECS and ELB actions CodeDeploy needs to shift traffic between task sets.",
        )
        return group

    def _autoscaling(self, config: EnvConfig) -> None:
        api = self.api_service.auto_scale_task_count(
            min_capacity=config.api_min_tasks, max_capacity=config.api_max_tasks
        )
        # CPU and memory, not ALBRequestCountPerTarget: that metric belongs to one target
        # group, and blue/green swaps which group takes the traffic at every deployment.
        api.scale_on_cpu_utilization("Cpu", target_utilization_percent=60)
        api.scale_on_memory_utilization("Memory", target_utilization_percent=75)
        worker = self.worker_service.auto_scale_task_count(
            min_capacity=config.worker_min_tasks, max_capacity=config.worker_max_tasks
        )
        worker.scale_on_cpu_utilization("Cpu", target_utilization_percent=60)


def _visibility(name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
    return wafv2.CfnWebACL.VisibilityConfigProperty(
        cloud_watch_metrics_enabled=True, metric_name=name, sampled_requests_enabled=True
    )

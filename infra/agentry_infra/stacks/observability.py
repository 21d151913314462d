"""Observability: alarms as code for the API, jobs, webhooks and runtime, to an SNS topic.

Log groups (with retention) belong to the stacks whose services write them; this stack turns
the platform's JSON log events into metrics and alarms on them and on the ALB's own metrics.
Alarms on the Gateway and interceptor live in each runtime region's AgentCore stack (a
CloudWatch alarm watches metrics of its own region only).
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from agentry_infra.config import EnvConfig

NAMESPACE = "Agentry"
# event name (structlog's `event` key in the JSON lines) -> metric; see src/agentry/*/.
LOG_METRICS: dict[str, tuple[str, str]] = {
    "JobsFailed": (
        "worker",
        '{ $.event = "jobs.failed_after_retries" || $.event = "jobs.run_failed" }',
    ),
    "WebhookFailures": ("worker", '{ $.event = "webhooks.attempt" && $.outcome != "delivered" }'),
    "WebhookDeadLetters": ("worker", '{ $.event = "webhooks.attempt" && $.outcome = "dead" }'),
    "RuntimeErrors": (
        "api",
        '{ $.event = "runtime.session_start_failed" || $.event = "runtime.session_broken" '
        '|| $.event = "runtime.stream_broken" }',
    ),
}  # fmt: skip


def alarm_topic(scope: Construct, config: EnvConfig) -> sns.Topic:
    """An encrypted, TLS-only topic for this region's alarms."""
    key = kms.Key(
        scope,
        "AlarmKey",
        description="Agentry alarm topic",
        enable_key_rotation=True,
    )
    key.grant_encrypt_decrypt(iam.ServicePrincipal("cloudwatch.amazonaws.com"))
    topic = sns.Topic(
        scope,
        "Alarms",
        display_name=f"{config.prefix()} alarms",
        master_key=key,
        enforce_ssl=True,
    )
    if config.alarm_email:
        topic.add_subscription(subscriptions.EmailSubscription(config.alarm_email))
    return topic


class ObservabilityStack(cdk.Stack):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        config: EnvConfig,
        alb: elbv2.ApplicationLoadBalancer,
        target_group: elbv2.ApplicationTargetGroup,
        worker_service: ecs.FargateService,
        log_groups: dict[str, logs.ILogGroup],
        **kw: object,
    ) -> None:
        super().__init__(scope, id, **kw)  # type: ignore[arg-type]
        self.topic = alarm_topic(self, config)
        action = actions.SnsAction(self.topic)
        five = cdk.Duration.minutes(5)
        alarms: list[cloudwatch.Alarm] = []

        five_xx = cloudwatch.MathExpression(
            expression="100 * (t5 + e5) / MAX([req, 1])",
            using_metrics={
                "t5": target_group.metrics.http_code_target(
                    elbv2.HttpCodeTarget.TARGET_5XX_COUNT, period=five, statistic="Sum"
                ),
                "e5": alb.metrics.http_code_elb(
                    elbv2.HttpCodeElb.ELB_5XX_COUNT, period=five, statistic="Sum"
                ),
                "req": alb.metrics.request_count(period=five, statistic="Sum"),
            },
            label="API 5xx %",
            period=five,
        )
        alarms.append(
            five_xx.create_alarm(
                self,
                "Api5xx",
                alarm_description="API 5xx above 1% of requests",
                threshold=1,
                evaluation_periods=2,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
        )
        alarms.append(
            target_group.metrics.target_response_time(period=five, statistic="p95").create_alarm(
                self,
                "ApiLatencyP95",
                alarm_description="API p95 latency above 2 s",
                threshold=2,
                evaluation_periods=3,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
        )
        alarms.append(
            target_group.metrics.unhealthy_host_count(period=cdk.Duration.minutes(1)).create_alarm(
                self,
                "ApiUnhealthy",
                alarm_description="A task fails /readyz",
                threshold=1,
                evaluation_periods=3,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            )
        )
        # Jobs backlog: workers pinned at their autoscaling maximum for 15 minutes means the
        # queue grows faster than it drains (no queue-depth metric is published yet).
        running = cloudwatch.Metric(
            namespace="ECS/ContainerInsights",
            metric_name="RunningTaskCount",
            dimensions_map={
                "ClusterName": worker_service.cluster.cluster_name,
                "ServiceName": worker_service.service_name,
            },
            period=five,
            statistic="Maximum",
        )
        alarms.append(
            running.create_alarm(
                self,
                "JobsBacklog",
                alarm_description="Workers at their maximum for 15 min: the job queue is growing",
                threshold=config.worker_max_tasks,
                evaluation_periods=3,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
        )
        for name, (source, pattern) in LOG_METRICS.items():
            logs.MetricFilter(
                self,
                f"{name}Filter",
                log_group=log_groups[source],
                metric_namespace=NAMESPACE,
                metric_name=name,
                filter_pattern=logs.FilterPattern.literal(pattern),
                metric_value="1",
                default_value=0,
            )
            metric = cloudwatch.Metric(
                namespace=NAMESPACE, metric_name=name, period=five, statistic="Sum"
            )
            alarms.append(
                metric.create_alarm(
                    self,
                    f"{name}Alarm",
                    alarm_description=f"{name} in the last 5 minutes",
                    threshold=5 if name != "WebhookDeadLetters" else 1,
                    evaluation_periods=1,
                    comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                    treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                )
            )
        for alarm in alarms:
            alarm.add_alarm_action(action)

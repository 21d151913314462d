"""Observability: alarms as code for the API, jobs, webhooks and runtime, to an SNS topic.

Log groups (with retention) belong to the stacks whose services write them; this stack turns
the platform's JSON log events into metrics and alarms on them and on the ALB's own metrics.
Alarms on the Gateway and interceptor live in each runtime region's AgentCore stack (a
CloudWatch alarm watches metrics of its own region only).
"""

from __future__ import annotations

from dataclasses import dataclass

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
# `request` is the access-log line of kit/middleware.py (route template and status).
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
    "AuthFailures": (
        "api", '{ $.event = "request" && ($.status = 401 || $.status = 403) }',
    ),
    "BudgetDenials": ("api", '{ $.event = "request" && $.status = 402 }'),
    "InvocationTokensRejected": (
        "api", '{ $.event = "request" && $.route = "/agent/*" && $.status = 401 }',
    ),
}  # fmt: skip


@dataclass(frozen=True)
class LogAlarm:
    """An alarm on a LOG_METRICS count: at least `threshold` per `period_min` minutes, for
    `periods` periods in a row."""

    summary: str
    threshold: float
    period_min: int = 5
    periods: int = 1
    runbook: str = ""
    mirrors: tuple[str, ...] = ()  # Prometheus alerts (docs/alerts/agentry.rules.yml)


LOG_ALARMS: dict[str, LogAlarm] = {
    "JobsFailed": LogAlarm(
        "5 or more jobs failed in 5 minutes", 5, runbook="RUNBOOK-005-dead-letters.md"
    ),
    "WebhookFailures": LogAlarm(
        "5 or more webhook attempts not delivered in 5 minutes", 5,
        runbook="RUNBOOK-005-dead-letters.md",
    ),
    "WebhookDeadLetters": LogAlarm(
        "A webhook delivery failed every attempt", 1, runbook="RUNBOOK-005-dead-letters.md",
        mirrors=("WebhookDeadLetters",),
    ),
    # A count, where the Prometheus rule is a ratio (the log lines carry no invocation total):
    # runtime sessions that do not start or break are what makes invocations fail.
    "RuntimeErrors": LogAlarm(
        "5 or more runtime sessions failed to start or broke in 5 minutes", 5,
        runbook="RUNBOOK-002-runtime-sessions.md", mirrors=("InvocationsFailing",),
    ),
    # Prometheus: over 1 per second for 10 minutes.
    "AuthFailures": LogAlarm(
        "Over 300 refused credentials (401/403) per 5 minutes, for 10 minutes", 301,
        periods=2, runbook="RUNBOOK-003-tenant-access-violation.md",
        mirrors=("AuthFailuresHigh",),
    ),
    "BudgetDenials": LogAlarm(
        "Tenants refused for an exhausted budget (402) in the last 15 minutes", 1,
        period_min=15, runbook="RUNBOOK-006-budgets.md", mirrors=("BudgetDenials",),
    ),
    # Prometheus: over 0.2 per second for 5 minutes.
    "InvocationTokensRejected": LogAlarm(
        "Over 60 agent calls to the gateways refused with 401 in 5 minutes", 61,
        runbook="RUNBOOK-015-gateway-refusals.md", mirrors=("InvocationTokensRejected",),
    ),
}  # fmt: skip


def describe(summary: str, runbook: str = "", mirrors: tuple[str, ...] = ()) -> str:
    """An alarm description that names its runbook and the Prometheus alerts it mirrors
    (tests/infra/test_canary.py reads both back from the template)."""
    parts = [summary.rstrip(".") + "."]
    if mirrors:
        parts.append(f"Prometheus: {', '.join(mirrors)}.")
    if runbook:
        parts.append(f"Runbook: docs/runbooks/{runbook}")
    return " ".join(parts)


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
        target_groups: tuple[elbv2.ApplicationTargetGroup, ...],
        worker_service: ecs.FargateService,
        log_groups: dict[str, logs.ILogGroup],
        **kw: object,
    ) -> None:
        super().__init__(scope, id, **kw)  # type: ignore[arg-type]
        self.topic = alarm_topic(self, config)
        action = actions.SnsAction(self.topic)
        five = cdk.Duration.minutes(5)
        prefix = config.prefix()
        greater_or_equal = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
        not_breaching = cloudwatch.TreatMissingData.NOT_BREACHING
        alarms: list[cloudwatch.Alarm] = []

        # Load-balancer-wide metrics, not one target group's: CodeDeploy's blue/green swaps
        # which of the two groups takes the traffic at every API deployment.
        five_xx = cloudwatch.MathExpression(
            expression="100 * (t5 + e5) / MAX([req, 1])",
            using_metrics={
                "t5": alb.metrics.http_code_target(
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
                alarm_name=f"{prefix}-api-5xx",
                alarm_description=describe("API 5xx above 1% of requests for 10 minutes"),
                threshold=1,
                evaluation_periods=2,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                treat_missing_data=not_breaching,
            )
        )
        alarms.append(
            alb.metrics.target_response_time(period=five, statistic="p95").create_alarm(
                self,
                "ApiLatencyP95",
                alarm_name=f"{prefix}-api-latency-p95",
                alarm_description=describe("API p95 latency above 2 s for 15 minutes"),
                threshold=2,
                evaluation_periods=3,
                treat_missing_data=not_breaching,
            )
        )
        # /readyz is the target groups' health check: a task failing it is `ApiNotReady`.
        unhealthy = cloudwatch.MathExpression(
            expression=f"MAX([{', '.join(f'u{i}' for i in range(len(target_groups)))}])",
            using_metrics={
                f"u{i}": group.metrics.unhealthy_host_count(
                    period=cdk.Duration.minutes(1), statistic="Maximum"
                )
                for i, group in enumerate(target_groups)
            },
            label="API tasks failing /readyz",
            period=cdk.Duration.minutes(1),
        )
        alarms.append(
            unhealthy.create_alarm(
                self,
                "ApiUnhealthy",
                alarm_name=f"{prefix}-api-unhealthy",
                alarm_description=describe(
                    "An API task fails /readyz for 3 minutes",
                    "RUNBOOK-000-bootstrap.md",
                    ("ApiNotReady",),
                ),
                threshold=1,
                evaluation_periods=3,
                comparison_operator=greater_or_equal,
                treat_missing_data=not_breaching,
            )
        )
        # Jobs backlog: workers pinned at their autoscaling maximum for 15 minutes means the
        # queue grows faster than it drains (the queue's age is on /metrics only).
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
                alarm_name=f"{prefix}-jobs-backlog",
                alarm_description=describe(
                    "Workers at their maximum for 15 min: the job queue is growing",
                    "RUNBOOK-013-stuck-jobs.md",
                    ("JobsQueuedTooLong",),
                ),
                threshold=config.worker_max_tasks,
                evaluation_periods=3,
                comparison_operator=greater_or_equal,
                treat_missing_data=not_breaching,
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
            spec = LOG_ALARMS[name]
            metric = cloudwatch.Metric(
                namespace=NAMESPACE,
                metric_name=name,
                period=cdk.Duration.minutes(spec.period_min),
                statistic="Sum",
            )
            alarms.append(
                metric.create_alarm(
                    self,
                    f"{name}Alarm",
                    alarm_name=f"{prefix}-{_kebab(name)}",
                    alarm_description=describe(spec.summary, spec.runbook, spec.mirrors),
                    threshold=spec.threshold,
                    evaluation_periods=spec.periods,
                    comparison_operator=greater_or_equal,
                    treat_missing_data=not_breaching,
                )
            )
        for alarm in alarms:
            alarm.add_alarm_action(action)
        self.alarms = alarms


def _kebab(name: str) -> str:
    """JobsFailed -> jobs-failed."""
    return "".join(f"-{c.lower()}" if c.isupper() else c for c in name).lstrip("-")

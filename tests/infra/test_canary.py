"""The API's canary in the synthesized templates: CodeDeploy blue/green, its alarms, rollback,
the names the pipeline's watcher reads, and the CloudWatch counterparts of the Prometheus alerts.

Synthesized once per environment for the session (conftest); nothing here talks to AWS except
the watcher's DescribeStacks, answered by botocore's Stubber from the synthesized outputs.
"""

from __future__ import annotations

import inspect
import json
import re
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from agentry.cli.deploy import verify_cmd
from agentry.delivery import canary
from agentry_infra.stacks.api import API_PORT, TEST_LISTENER_PORT
from tests.infra.conftest import Synth
from tests.runbooks.alerts import rules
from tests.runbooks.pages import ROOT

ENVS = ["dev", "staging", "prod"]
# Prometheus alerts with no CloudWatch counterpart, and why. Every other alert in
# docs/alerts/agentry.rules.yml must have an alarm in the observability stack naming it.
EXEMPT = {
    "RuntimeSessionsHigh": "live sessions against the quota are counted by the platform from "
    "its own session table; AWS publishes no per-account live-session gauge we alarm on",
    "TenantSessionsRunaway": "per tenant: CloudWatch has no tenant dimension (and should not: "
    "unbounded cardinality)",
    "WebhookBacklog": "the oldest pending delivery's age is database state, on /metrics only; "
    "the WebhookFailures alarm (same runbook, mirroring WebhookDeliveriesFailing) catches the "
    "failing attempts behind it",
    "JobsRunningTooLong": "a running job's age is database state, on /metrics only",
    "PolicyDenialsSpike": "per tenant: CloudWatch has no tenant dimension (the 403s as a whole "
    "are the AuthFailuresHigh alarm)",
    "InvocationBudgetDenials": "per tenant, from an in-process counter: no tenant dimension",
    "CanaryRolledBack": "agent canaries are decided by the platform and counted on /metrics; "
    "the API's own CodeDeploy canary rolls back on its 5xx/p99 alarms (api stack)",
}


def _one(s: Synth, kind: str, stack: str) -> tuple[str, dict[str, Any]]:
    [(_, logical, props)] = s.resources(kind, stack)
    return logical, props


def _by_logical(s: Synth, kind: str, stack: str) -> dict[str, dict[str, Any]]:
    return {logical: props for _, logical, props in s.resources(kind, stack)}


def _listener(s: Synth, port: int) -> tuple[str, dict[str, Any]]:
    [(logical, props)] = [
        (logical, p)
        for _, logical, p in s.resources("AWS::ElasticLoadBalancingV2::Listener", "api")
        if p["Port"] == port
    ]
    return logical, props


def _services(s: Synth) -> dict[str, dict[str, Any]]:
    """ECS services by the command their task runs (serve: the API, worker: the workers)."""
    tasks = _by_logical(s, "AWS::ECS::TaskDefinition", "api")
    found = {}
    for _, _, service in s.resources("AWS::ECS::Service", "api"):
        ref = service["TaskDefinition"]
        task = (
            tasks[ref["Ref"]]
            if isinstance(ref, dict)
            else next(t for t in tasks.values() if t.get("Family") == ref)
        )
        found[task["ContainerDefinitions"][0]["Command"][0]] = service
    return found


@pytest.mark.parametrize("env", ENVS)
def test_the_api_service_deploys_through_codedeploy_and_workers_roll(synth: Any, env: str) -> None:
    s = synth(env)
    assert s.error is None, s.error
    services = _services(s)
    api, worker = services["serve"], services["worker"]
    assert api["DeploymentController"] == {"Type": "CODE_DEPLOY"}
    # The service names the family, not a revision: CloudFormation never redeploys it, the
    # pipeline's CodeDeploy deployment does.
    assert api["TaskDefinition"] == f"agentry-{env}-api"
    assert "DeploymentCircuitBreaker" not in api.get("DeploymentConfiguration", {})
    assert worker["DeploymentController"] == {"Type": "ECS"}
    assert worker["DeploymentConfiguration"]["DeploymentCircuitBreaker"] == {
        "Enable": True,
        "Rollback": True,
    }
    # Request-count scaling is per target group, which blue/green swaps: not used.
    policies = s.resources("AWS::ApplicationAutoScaling::ScalingPolicy", "api")
    kinds = {
        p["TargetTrackingScalingPolicyConfiguration"]["PredefinedMetricSpecification"][
            "PredefinedMetricType"
        ]
        for _, _, p in policies
    }
    assert "ALBRequestCountPerTarget" not in kinds
    assert {"ECSServiceAverageCPUUtilization", "ECSServiceAverageMemoryUtilization"} <= kinds


@pytest.mark.parametrize(("env", "minutes"), [("staging", 5), ("prod", 10)])
def test_staging_and_prod_shift_ten_percent_for_the_canary_window(
    synth: Any, env: str, minutes: int
) -> None:
    s = synth(env)
    config_logical, config = _one(s, "AWS::CodeDeploy::DeploymentConfig", "api")
    assert config["ComputePlatform"] == "ECS"
    assert config["TrafficRoutingConfig"] == {
        "Type": "TimeBasedCanary",
        "TimeBasedCanary": {"CanaryPercentage": 10, "CanaryInterval": minutes},
    }
    _, group = _one(s, "AWS::CodeDeploy::DeploymentGroup", "api")
    assert group["DeploymentConfigName"] == {"Ref": config_logical}
    assert group["DeploymentStyle"] == {
        "DeploymentType": "BLUE_GREEN",
        "DeploymentOption": "WITH_TRAFFIC_CONTROL",
    }


def test_dev_shifts_all_at_once_still_through_codedeploy(synth: Any) -> None:
    s = synth("dev")
    assert not s.resources("AWS::CodeDeploy::DeploymentConfig", "api")
    _, group = _one(s, "AWS::CodeDeploy::DeploymentGroup", "api")
    assert group["DeploymentConfigName"] == "CodeDeployDefault.ECSAllAtOnce"
    assert group["AutoRollbackConfiguration"]["Enabled"] is True


@pytest.mark.parametrize("env", ENVS)
def test_a_canary_alarm_or_a_failure_rolls_the_deployment_back(synth: Any, env: str) -> None:
    s = synth(env)
    _, group = _one(s, "AWS::CodeDeploy::DeploymentGroup", "api")
    rollback = group["AutoRollbackConfiguration"]
    assert rollback["Enabled"] is True
    assert {"DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"} <= set(rollback["Events"])
    alarms = _by_logical(s, "AWS::CloudWatch::Alarm", "api")
    assert group["AlarmConfiguration"]["Enabled"] is True
    attached = {a["Name"]["Ref"] for a in group["AlarmConfiguration"]["Alarms"]}
    assert {alarms[logical]["AlarmName"] for logical in attached} == {
        f"agentry-{env}-api-canary-5xx",
        f"agentry-{env}-api-canary-p99",
    }
    # Blue/green over the two target groups: production on 443, test traffic on its own port.
    groups = _by_logical(s, "AWS::ElasticLoadBalancingV2::TargetGroup", "api")
    [pair] = group["LoadBalancerInfo"]["TargetGroupPairInfoList"]
    named = {tg["Name"]["Fn::GetAtt"][0] for tg in pair["TargetGroups"]}
    assert named == set(groups)
    prod_logical, prod = _listener(s, 443)
    test_logical, test = _listener(s, TEST_LISTENER_PORT)
    assert pair["ProdTrafficRoute"] == {"ListenerArns": [{"Ref": prod_logical}]}
    assert pair["TestTrafficRoute"] == {"ListenerArns": [{"Ref": test_logical}]}
    # The service starts on blue (production's listener); green is the test listener's.
    [blue] = [a["TargetGroupArn"]["Ref"] for a in prod["DefaultActions"]]
    [green] = [a["TargetGroupArn"]["Ref"] for a in test["DefaultActions"]]
    assert {blue, green} == set(groups)
    [attachment] = _services(s)["serve"]["LoadBalancers"]
    assert attachment["TargetGroupArn"] == {"Ref": blue}
    blue_green = group["BlueGreenDeploymentConfiguration"]
    blue_kept = blue_green["TerminateBlueInstancesOnDeploymentSuccess"]
    assert blue_kept["Action"] == "TERMINATE"
    assert blue_kept["TerminationWaitTimeInMinutes"] == (30 if env == "prod" else 5)


@pytest.mark.parametrize("env", ENVS)
def test_canary_alarms_watch_the_5xx_rate_and_p99(synth: Any, env: str) -> None:
    s = synth(env)
    alarms = {p["AlarmName"]: p for p in _by_logical(s, "AWS::CloudWatch::Alarm", "api").values()}
    five_xx = alarms[f"agentry-{env}-api-canary-5xx"]
    assert five_xx["Threshold"] == 1
    assert five_xx["ComparisonOperator"] == "GreaterThanThreshold"
    assert five_xx["EvaluationPeriods"] == 2
    assert five_xx["TreatMissingData"] == "notBreaching"
    metrics = {m["Id"]: m for m in five_xx["Metrics"]}
    [top] = [m for m in metrics.values() if m.get("ReturnData", True)]
    assert top["Expression"] == "MAX([blue, green, elb])"
    # Each rate is errors / requests of the same scope, guarded against no traffic.
    for name in ("blue", "green", "elb"):
        assert metrics[name]["Expression"] == (f"IF({name}req > 0, 100 * {name}err / {name}req, 0)")
        err = metrics[f"{name}err"]["MetricStat"]
        req = metrics[f"{name}req"]["MetricStat"]
        assert req["Metric"]["MetricName"] == "RequestCount"
        assert err["Stat"] == req["Stat"] == "Sum"
        assert err["Period"] == req["Period"] == 60
        assert err["Metric"]["Dimensions"] == req["Metric"]["Dimensions"]
        dimensions = {d["Name"] for d in err["Metric"]["Dimensions"]}
        if name == "elb":
            assert err["Metric"]["MetricName"] == "HTTPCode_ELB_5XX_Count"
            assert dimensions == {"LoadBalancer"}
        else:
            assert err["Metric"]["MetricName"] == "HTTPCode_Target_5XX_Count"
            assert dimensions == {"LoadBalancer", "TargetGroup"}
    by_group = {
        json.dumps(
            next(
                d["Value"]
                for d in metrics[f"{n}err"]["MetricStat"]["Metric"]["Dimensions"]
                if d["Name"] == "TargetGroup"
            )
        )
        for n in ("blue", "green")
    }
    assert len(by_group) == 2  # one rate per target group, not the same group twice
    p99 = alarms[f"agentry-{env}-api-canary-p99"]
    assert p99["MetricName"] == "TargetResponseTime"
    assert p99["Namespace"] == "AWS/ApplicationELB"
    assert p99["ExtendedStatistic"] == "p99"
    assert p99["Threshold"] == 2.5
    assert p99["Period"] == 60
    assert p99["ComparisonOperator"] == "GreaterThanThreshold"
    assert [d["Name"] for d in p99["Dimensions"]] == ["LoadBalancer"]
    # The same limits as the post-deploy verification's defaults.
    params = inspect.signature(verify_cmd).parameters
    defaults = {name: params[name].default.default for name in ("max_error_rate", "max_p99_s")}
    assert defaults["max_error_rate"] * 100 == five_xx["Threshold"]
    assert defaults["max_p99_s"] == p99["Threshold"]


@pytest.mark.parametrize("env", ENVS)
def test_the_test_listener_is_not_open_to_the_world(synth: Any, env: str) -> None:
    s = synth(env)
    _, test = _listener(s, TEST_LISTENER_PORT)
    assert test["Protocol"] == "HTTPS"
    for stack in ("network", "api"):
        for _, _, group in s.resources("AWS::EC2::SecurityGroup", stack):
            for rule in group.get("SecurityGroupIngress", []):
                assert rule.get("FromPort") != TEST_LISTENER_PORT, rule
        for _, _, rule in s.resources("AWS::EC2::SecurityGroupIngress", stack):
            assert rule.get("FromPort") != TEST_LISTENER_PORT or "CidrIp" not in rule, rule
    # The ALB's group admits the world on 80 and 443 only.
    [alb_sg] = [
        g for _, _, g in s.resources("AWS::EC2::SecurityGroup", "network")
        if g["GroupDescription"] == "Agentry ALB"
    ]  # fmt: skip
    assert sorted(r["FromPort"] for r in alb_sg["SecurityGroupIngress"]) == [80, 443]


@pytest.mark.parametrize("env", ENVS)
def test_the_watcher_reads_the_names_cdk_creates(synth: Any, env: str) -> None:
    """The API stack's outputs, as CloudFormation would return them, through the watcher's own
    reader: every name is the name of a resource in the same template."""
    s = synth(env)
    template = s.template("api")
    outputs = [
        {"OutputKey": key, "OutputValue": out["Value"]}
        for key, out in template["Outputs"].items()
        if isinstance(out["Value"], str)
    ]
    cloudformation = boto3.client(
        "cloudformation", region_name="eu-west-2", aws_access_key_id="x",
        aws_secret_access_key="x",  # pragma: allowlist secret
    )  # fmt: skip
    stack = s.platform.stacks["api"].stack_name
    assert stack == f"agentry-{env}-api"  # the Makefile's API_STACK default
    with Stubber(cloudformation) as stub:
        stub.add_response(
            "describe_stacks",
            {
                "Stacks": [
                    {
                        "StackName": stack,
                        "CreationTime": "2026-12-01T00:00:00Z",
                        "StackStatus": "CREATE_COMPLETE",
                        "Outputs": outputs,
                    }
                ]
            },
            {"StackName": stack},
        )
        target = canary.target_from_stack(cloudformation, stack)
    _, application = _one(s, "AWS::CodeDeploy::Application", "api")
    _, group = _one(s, "AWS::CodeDeploy::DeploymentGroup", "api")
    alarms = _by_logical(s, "AWS::CloudWatch::Alarm", "api")
    assert target.application == application["ApplicationName"]
    assert target.deployment_group == group["DeploymentGroupName"]
    attached = [
        alarms[a["Name"]["Ref"]]["AlarmName"] for a in group["AlarmConfiguration"]["Alarms"]
    ]
    assert sorted(target.alarms) == sorted(attached)
    [task] = [
        t for t in _by_logical(s, "AWS::ECS::TaskDefinition", "api").values()
        if t.get("Family") == target.family
    ]  # fmt: skip
    [container] = task["ContainerDefinitions"]
    assert container["Name"] == target.container
    assert [m["ContainerPort"] for m in container["PortMappings"]] == [target.port]
    [attachment] = _services(s)["serve"]["LoadBalancers"]
    assert (attachment["ContainerName"], attachment["ContainerPort"]) == (
        target.container,
        target.port,
    )
    # And the watcher's AppSpec names that container and port.
    spec = json.loads(canary.appspec("arn:task:1", target))
    info = spec["Resources"][0]["TargetService"]["Properties"]["LoadBalancerInfo"]
    assert info == {"ContainerName": container["Name"], "ContainerPort": API_PORT}


_DESCRIPTION = re.compile(r"(?:Prometheus: (?P<mirrors>[A-Za-z, ]+)\. )?Runbook: (?P<runbook>\S+)$")


def _counterparts(s: Synth) -> dict[str, list[tuple[str, str]]]:
    """Prometheus alert -> [(alarm name, runbook)] from the observability stack's alarms."""
    found: dict[str, list[tuple[str, str]]] = {}
    for _, _, alarm in s.resources("AWS::CloudWatch::Alarm", "observability"):
        match = _DESCRIPTION.search(alarm["AlarmDescription"])
        if not match or not match["mirrors"]:
            continue
        for name in match["mirrors"].split(", "):
            found.setdefault(name, []).append((alarm["AlarmName"], match["runbook"]))
    return found


@pytest.mark.parametrize("env", ENVS)
def test_every_aws_observable_alert_has_a_cloudwatch_alarm_with_its_runbook(
    synth: Any, env: str
) -> None:
    s = synth(env)
    counterparts = _counterparts(s)
    by_name = {r["alert"]: r for r in rules()}
    assert set(EXEMPT) <= set(by_name), "an exemption names an alert that no longer exists"
    assert set(counterparts) <= set(by_name), "an alarm mirrors an alert that does not exist"
    for name, rule in by_name.items():
        if name in EXEMPT:
            assert name not in counterparts, f"{name} is exempt but has an alarm: drop it"
            continue
        assert name in counterparts, f"Prometheus alert {name} has no CloudWatch alarm"
        for alarm, runbook in counterparts[name]:
            assert runbook == rule["annotations"]["runbook"], (name, alarm, runbook)
            assert alarm.startswith(f"agentry-{env}-")
    assert len(counterparts) == len(by_name) - len(EXEMPT) >= 7
    # Every alarm that names a runbook names one that exists.
    for _, _, alarm in s.resources("AWS::CloudWatch::Alarm"):
        match = _DESCRIPTION.search(alarm.get("AlarmDescription", ""))
        if match:
            assert (ROOT / match["runbook"]).exists(), alarm["AlarmDescription"]


@pytest.mark.parametrize("env", ["staging"])
def test_log_alarms_count_the_events_the_platform_logs(synth: Any, env: str) -> None:
    """The access-log filters key on the fields kit/middleware.py writes, and each alarm
    reads the metric its filter publishes."""
    s = synth(env)
    filters = {
        p["MetricTransformations"][0]["MetricName"]: p["FilterPattern"]
        for _, _, p in s.resources("AWS::Logs::MetricFilter", "observability")
    }
    assert filters["AuthFailures"] == (
        '{ $.event = "request" && ($.status = 401 || $.status = 403) }'
    )
    assert filters["BudgetDenials"] == '{ $.event = "request" && $.status = 402 }'
    assert '$.route = "/agent/*"' in filters["InvocationTokensRejected"]
    alarms = {
        p["MetricName"]: p
        for _, _, p in s.resources("AWS::CloudWatch::Alarm", "observability")
        if p.get("Namespace") == "Agentry"
    }
    assert set(alarms) == set(filters)
    assert alarms["BudgetDenials"]["Period"] == 900
    assert alarms["AuthFailures"]["EvaluationPeriods"] == 2
    assert alarms["AuthFailures"]["Threshold"] == 301  # over 1/s, as the Prometheus rule
    middleware = (Path(__file__).parents[2] / "src/agentry/kit/middleware.py").read_text()
    assert re.search(r'log\.info\(\s*"request",[^)]*route=route,\s*status=status', middleware)

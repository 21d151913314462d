"""The pipeline's deploy step against stubbed AWS: an alarm during the canary rolls it back.

CodeDeploy is botocore's Stubber (moto has no StopDeployment): every call and its parameters
are asserted. CloudWatch and ECS are moto: the alarm is a real alarm whose state changes while
the deployment runs.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber
from moto import mock_aws
from typer.testing import CliRunner

from agentry.cli import deploy as deploy_cli
from agentry.cli.main import app
from agentry.delivery import canary

REGION = "eu-west-1"
TASK_DEF = "arn:aws:ecs:eu-west-1:123456789012:task-definition/agentry-api:7"
TARGET = canary.Target(
    "agentry-staging", "api", ("agentry-staging-api-5xx", "agentry-staging-api-p99")
)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",  # pragma: allowlist secret
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(key, value)
    with mock_aws():
        cloudwatch = boto3.client("cloudwatch", region_name=REGION)
        for name in TARGET.alarms:
            cloudwatch.put_metric_alarm(
                AlarmName=name,
                MetricName="HTTPCode_Target_5XX_Count",
                Namespace="AWS/ApplicationELB",
                Statistic="Sum",
                Period=60,
                EvaluationPeriods=1,
                Threshold=1,
                ComparisonOperator="GreaterThanThreshold",
            )
            cloudwatch.set_alarm_state(AlarmName=name, StateValue="OK", StateReason="baseline")
        codedeploy = boto3.client("codedeploy", region_name=REGION)
        stubber = Stubber(codedeploy)
        stubber.activate()
        yield {
            "cloudwatch": cloudwatch,
            "codedeploy": codedeploy,
            "stubber": stubber,
            "ecs": boto3.client("ecs", region_name=REGION),
            "cloudformation": boto3.client("cloudformation", region_name=REGION),
        }
        stubber.deactivate()


def _expect_start(stubber: Stubber, deployment_id: str = "d-CANARY1") -> None:
    stubber.add_response(
        "create_deployment",
        {"deploymentId": deployment_id},
        {
            "applicationName": "agentry-staging",
            "deploymentGroupName": "api",
            "revision": {
                "revisionType": "AppSpecContent",
                "appSpecContent": {"content": canary.appspec(TASK_DEF, TARGET)},
            },
            "description": ANY,
        },
    )


def _expect_status(stubber: Stubber, status: str, deployment_id: str = "d-CANARY1") -> None:
    stubber.add_response(
        "get_deployment",
        {"deploymentInfo": {"deploymentId": deployment_id, "status": status}},
        {"deploymentId": deployment_id},
    )


def test_an_alarm_during_the_canary_stops_it_with_rollback(aws: dict[str, Any]) -> None:
    stubber: Stubber = aws["stubber"]
    _expect_start(stubber)
    _expect_status(stubber, "InProgress")
    _expect_status(stubber, "InProgress")
    stubber.add_response(
        "stop_deployment",
        {"status": "Pending", "statusMessage": "rolling back"},
        {"deploymentId": "d-CANARY1", "autoRollbackEnabled": True},
    )
    polls: list[float] = []

    def sleep(seconds: float) -> None:
        # Ten percent of traffic is on the new tasks; after the first poll their 5xx rate fires.
        polls.append(seconds)
        aws["cloudwatch"].set_alarm_state(
            AlarmName="agentry-staging-api-5xx", StateValue="ALARM", StateReason="5xx 4%"
        )

    outcome = canary.deploy(
        aws["codedeploy"], aws["cloudwatch"], TARGET, TASK_DEF, poll_s=5, sleep=sleep
    )
    assert outcome.status == "rolled_back"
    assert not outcome.ok
    assert outcome.alarms == ["agentry-staging-api-5xx"]
    assert polls == [5]  # one healthy poll, then the alarm
    stubber.assert_no_pending_responses()  # StopDeployment(autoRollbackEnabled) was called


def test_quiet_alarms_let_the_canary_finish(aws: dict[str, Any]) -> None:
    stubber: Stubber = aws["stubber"]
    _expect_start(stubber)
    _expect_status(stubber, "InProgress")
    _expect_status(stubber, "Succeeded")
    outcome = canary.deploy(
        aws["codedeploy"], aws["cloudwatch"], TARGET, TASK_DEF, poll_s=0, sleep=lambda _s: None
    )
    assert outcome.ok
    stubber.assert_no_pending_responses()  # and no StopDeployment


def test_a_deployment_codedeploy_rolled_back_itself_fails_the_step(aws: dict[str, Any]) -> None:
    stubber: Stubber = aws["stubber"]
    _expect_start(stubber)
    stubber.add_response(
        "get_deployment",
        {
            "deploymentInfo": {
                "deploymentId": "d-CANARY1",
                "status": "Stopped",
                "errorInformation": {"code": "ALARM_ACTIVE", "message": "alarm fired"},
            }
        },
        {"deploymentId": "d-CANARY1"},
    )
    outcome = canary.deploy(aws["codedeploy"], aws["cloudwatch"], TARGET, TASK_DEF)
    assert outcome.status == "failed"
    assert "ALARM_ACTIVE" in outcome.detail


def test_a_canary_that_never_ends_is_rolled_back_at_the_timeout(aws: dict[str, Any]) -> None:
    stubber: Stubber = aws["stubber"]
    _expect_start(stubber)
    _expect_status(stubber, "InProgress")
    stubber.add_response(
        "stop_deployment", {}, {"deploymentId": "d-CANARY1", "autoRollbackEnabled": True}
    )
    now = iter([0.0, 100.0])
    outcome = canary.deploy(
        aws["codedeploy"],
        aws["cloudwatch"],
        TARGET,
        TASK_DEF,
        timeout_s=50,
        clock=lambda: next(now),
    )
    assert outcome.status == "timed_out"
    stubber.assert_no_pending_responses()


def test_the_cli_step_registers_the_image_and_fails_the_job_on_alarm(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    ecs = aws["ecs"]
    ecs.register_task_definition(
        family="agentry-api",
        containerDefinitions=[{"name": "api", "image": "registry/agentry:old", "memory": 512}],
    )
    stubber: Stubber = aws["stubber"]
    stubber.add_response("create_deployment", {"deploymentId": "d-CLI"}, None)
    _expect_status(stubber, "InProgress", "d-CLI")
    stubber.add_response(
        "stop_deployment", {}, {"deploymentId": "d-CLI", "autoRollbackEnabled": True}
    )

    def p99_fires(**_kwargs: Any) -> None:  # once the new tasks take traffic
        aws["cloudwatch"].set_alarm_state(
            AlarmName="agentry-staging-api-p99", StateValue="ALARM", StateReason="p99 3 s"
        )

    aws["codedeploy"].meta.events.register("after-call.codedeploy.CreateDeployment", p99_fires)
    monkeypatch.setattr(deploy_cli, "_clients", lambda _region: aws)
    result = CliRunner().invoke(
        app,
        [
            "deploy", "api", "--application", "agentry-staging", "--deployment-group", "api",
            "--alarm", "agentry-staging-api-5xx", "--alarm", "agentry-staging-api-p99",
            "--image", "registry/agentry:new", "--poll-s", "0", "--json",
        ],
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    answer = json.loads(result.output)
    assert answer["status"] == "rolled_back"
    assert answer["alarms"] == ["agentry-staging-api-p99"]
    # The deployment went out with a new revision that runs the new image.
    revision = ecs.describe_task_definition(taskDefinition=answer["task_definition"])
    assert revision["taskDefinition"]["revision"] == 2
    assert revision["taskDefinition"]["containerDefinitions"][0]["image"] == "registry/agentry:new"
    stubber.assert_no_pending_responses()


def test_the_canary_names_come_from_the_stack_outputs() -> None:
    cloudformation = boto3.client("cloudformation", region_name=REGION)
    with Stubber(cloudformation) as stub:
        stub.add_response(
            "describe_stacks",
            {
                "Stacks": [
                    {
                        "StackName": "Agentry-staging-Api",
                        "CreationTime": "2026-12-01T00:00:00Z",
                        "StackStatus": "UPDATE_COMPLETE",
                        "Outputs": [
                            {"OutputKey": "CanaryApplication", "OutputValue": "app"},
                            {"OutputKey": "CanaryDeploymentGroup", "OutputValue": "grp"},
                            {"OutputKey": "CanaryAlarms", "OutputValue": "a5xx,ap99"},
                            {"OutputKey": "ApiContainerPort", "OutputValue": "8080"},
                            {"OutputKey": "ApiTaskFamily", "OutputValue": "agentry-staging-api"},
                        ],
                    }
                ]
            },
            {"StackName": "Agentry-staging-Api"},
        )
        target = canary.target_from_stack(cloudformation, "Agentry-staging-Api")
    assert target == canary.Target(
        "app", "grp", ("a5xx", "ap99"), "api", 8080, "agentry-staging-api"
    )


def test_nothing_deploys_while_an_alarm_fires_or_is_missing(aws: dict[str, Any]) -> None:
    aws["cloudwatch"].set_alarm_state(
        AlarmName="agentry-staging-api-p99", StateValue="ALARM", StateReason="already slow"
    )
    outcome = canary.deploy(aws["codedeploy"], aws["cloudwatch"], TARGET, TASK_DEF)
    assert outcome.status == "failed"
    assert outcome.deployment_id == ""
    missing = canary.Target("agentry-staging", "api", ("no-such-alarm",))
    with pytest.raises(ValueError, match="alarm not found: no-such-alarm"):
        canary.deploy(aws["codedeploy"], aws["cloudwatch"], missing, TASK_DEF)
    aws["stubber"].assert_no_pending_responses()  # CreateDeployment was never called

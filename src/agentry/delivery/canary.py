"""The API's canary deploy: CodeDeploy ECS blue/green, watched here, rolled back on an alarm.

`deploy()` registers nothing it cannot undo: it starts one CodeDeploy deployment of a task
definition (10% of traffic for the deployment group's canary window, then all of it), and
polls the deployment and the canary alarms (5xx rate, p99) until the deployment ends. An alarm
in ALARM while it runs stops the deployment with rollback (traffic back to the blue tasks) and
the step fails; so does a deployment CodeDeploy itself failed or stopped. The deployment group
also names the alarms, so CodeDeploy rolls back on its own if this watcher dies.

Tested against botocore's Stubber (CodeDeploy) and moto (CloudWatch, ECS); see docs/pipeline.md.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

TERMINAL_FAILED = frozenset({"Failed", "Stopped"})


@dataclass(frozen=True)
class Target:
    """What one environment's API service deploys through."""

    application: str
    deployment_group: str
    alarms: tuple[str, ...]
    container: str = "api"
    port: int = 8000
    family: str = "agentry-api"  # task definition family `--image` registers a revision of


@dataclass
class Outcome:
    status: str  # succeeded | rolled_back | failed | timed_out
    deployment_id: str
    alarms: list[str] = field(default_factory=list)
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "succeeded"


def appspec(task_definition: str, target: Target) -> str:
    """The ECS AppSpec CodeDeploy shifts traffic with."""
    return json.dumps(
        {
            "version": 0.0,
            "Resources": [
                {
                    "TargetService": {
                        "Type": "AWS::ECS::Service",
                        "Properties": {
                            "TaskDefinition": task_definition,
                            "LoadBalancerInfo": {
                                "ContainerName": target.container,
                                "ContainerPort": target.port,
                            },
                        },
                    }
                }
            ],
        },
        separators=(",", ":"),
    )


def register_revision(ecs: Any, family: str, container: str, image: str) -> str:
    """A new revision of the task definition family with `container` on `image`; its ARN."""
    current = ecs.describe_task_definition(taskDefinition=family)["taskDefinition"]
    containers = current["containerDefinitions"]
    if not any(c["name"] == container for c in containers):
        raise ValueError(f"task definition {family} has no container {container!r}")
    keep = (
        "family",
        "taskRoleArn",
        "executionRoleArn",
        "networkMode",
        "volumes",
        "placementConstraints",
        "requiresCompatibilities",
        "cpu",
        "memory",
        "runtimePlatform",
    )
    revision = {k: current[k] for k in keep if current.get(k) not in (None, [], "")}
    revision["containerDefinitions"] = [
        {**c, "image": image} if c["name"] == container else c for c in containers
    ]
    registered = ecs.register_task_definition(**revision)["taskDefinition"]
    return str(registered["taskDefinitionArn"])


def target_from_stack(cloudformation: Any, stack: str) -> Target:
    """The canary's names from the API stack's outputs: the CDK app writes them
    (infra/agentry_infra/stacks/api.py, `canary_names`); tests/infra/test_canary.py feeds the
    synthesized outputs through here and checks them against the resources."""
    found = cloudformation.describe_stacks(StackName=stack)["Stacks"][0].get("Outputs", [])
    outputs = {o["OutputKey"]: o["OutputValue"] for o in found}
    missing = [
        k
        for k in ("CanaryApplication", "CanaryDeploymentGroup", "CanaryAlarms")
        if k not in outputs
    ]
    if missing:
        raise ValueError(f"stack {stack} has no output {', '.join(missing)}")
    return Target(
        application=outputs["CanaryApplication"],
        deployment_group=outputs["CanaryDeploymentGroup"],
        alarms=tuple(a for a in outputs["CanaryAlarms"].split(",") if a),
        container=outputs.get("ApiContainerName", "api"),
        port=int(outputs.get("ApiContainerPort", "8000")),
        family=outputs.get("ApiTaskFamily", "agentry-api"),
    )


def firing(cloudwatch: Any, alarms: tuple[str, ...]) -> list[str]:
    if not alarms:
        return []
    answer = cloudwatch.describe_alarms(AlarmNames=list(alarms))
    found = answer.get("MetricAlarms", []) + answer.get("CompositeAlarms", [])
    missing = set(alarms) - {a["AlarmName"] for a in found}
    if missing:
        # A watcher that cannot see its alarm is not watching: fail closed.
        raise ValueError(f"alarm not found: {', '.join(sorted(missing))}")
    return sorted(a["AlarmName"] for a in found if a["StateValue"] == "ALARM")


def deploy(
    codedeploy: Any,
    cloudwatch: Any,
    target: Target,
    task_definition: str,
    *,
    description: str = "",
    poll_s: float = 15.0,
    timeout_s: float = 3600.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    report: Callable[[str], None] = lambda _line: None,
) -> Outcome:
    """Start the deployment and watch it to its end; see the module docstring."""
    already = firing(cloudwatch, target.alarms)  # also: every alarm exists, before anything moves
    if already:
        detail = f"alarm {', '.join(already)} in ALARM before the deployment; nothing deployed"
        report(detail)
        return Outcome("failed", "", already, detail=detail)
    started = codedeploy.create_deployment(
        applicationName=target.application,
        deploymentGroupName=target.deployment_group,
        revision={
            "revisionType": "AppSpecContent",
            "appSpecContent": {"content": appspec(task_definition, target)},
        },
        description=description[:100],
    )
    deployment_id = str(started["deploymentId"])
    report(f"deployment {deployment_id} started: {task_definition}")
    deadline = clock() + timeout_s
    while True:
        info = codedeploy.get_deployment(deploymentId=deployment_id)["deploymentInfo"]
        status = info["status"]
        if status == "Succeeded":
            report(f"deployment {deployment_id} succeeded")
            return Outcome("succeeded", deployment_id)
        if status in TERMINAL_FAILED:
            error = info.get("errorInformation", {})
            detail = f"{status}: {error.get('code', '')} {error.get('message', '')}".strip()
            report(f"deployment {deployment_id} {detail}")
            return Outcome("failed", deployment_id, detail=detail)
        alarms = firing(cloudwatch, target.alarms)
        if alarms or clock() >= deadline:
            reason = f"alarm {', '.join(alarms)} in ALARM" if alarms else "timed out"
            report(f"deployment {deployment_id}: {reason}; stopping with rollback")
            codedeploy.stop_deployment(deploymentId=deployment_id, autoRollbackEnabled=True)
            return Outcome(
                "rolled_back" if alarms else "timed_out", deployment_id, alarms, detail=reason
            )
        report(f"deployment {deployment_id}: {status}, alarms OK")
        sleep(poll_s)

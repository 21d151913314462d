"""The emulator's control plane, walked from botocore's own service model.

Every runtime, version and endpoint operation of `bedrock-agentcore-control` is called through
boto3 (which validates each request against the model), and each parsed answer is validated
against the operation's output shape. An operation botocore adds later fails here until the
emulator serves it or it is excluded with a reason.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import botocore.session
import pytest
from botocore.exceptions import ClientError
from botocore.validate import ParamValidator

from tests.runtime.support import ROLE_ARN, EmulatorProc

pytestmark = pytest.mark.e2e

MODEL = botocore.session.get_session().get_service_model("bedrock-agentcore-control")
NOT_EMULATED = {
    # Capacity providers (dedicated compute) have no local meaning: sessions run as processes.
    "ListAgentRuntimeVersionsByCapacityProvider": "capacity providers are not emulated",
}
RUNTIME_OPERATIONS = sorted(
    op for op in MODEL.operation_names if "AgentRuntime" in op and op not in NOT_EMULATED
)


class Checked:
    """Calls operations by their model name and validates each answer against its shape."""

    def __init__(self, emulator: EmulatorProc) -> None:
        self.client = emulator.client("bedrock-agentcore-control")
        self.called: set[str] = set()

    def __call__(self, operation: str, **params: Any) -> dict[str, Any]:
        method: Callable[..., dict[str, Any]] = getattr(self.client, _snake(operation))
        answer = dict(method(**params))
        answer.pop("ResponseMetadata", None)
        report = ParamValidator().validate(answer, MODEL.operation_model(operation).output_shape)
        assert not report.has_errors(), f"{operation}: {report.generate_report()}"
        self.called.add(operation)
        return answer


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")


def _artifact(key: str) -> dict[str, Any]:
    code = {"s3": {"bucket": "agentry-artifacts", "prefix": key}}
    return {
        "codeConfiguration": {"code": code, "runtime": "PYTHON_3_11", "entryPoint": ["main.py"]}
    }


def _pages(call: Checked, operation: str, key: str, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        answer = call(operation, maxResults=1, **params, **({"nextToken": token} if token else {}))
        assert len(answer[key]) <= 1
        items += answer[key]
        token = answer.get("nextToken")
        if token is None:
            return items


def test_every_runtime_operation_answers_in_its_modelled_shape(
    emulator: EmulatorProc, echo_zip: bytes
) -> None:
    call = Checked(emulator)
    emulator.put_zip("model/v1.zip", echo_zip)
    created = [
        call(
            "CreateAgentRuntime",
            agentRuntimeName=f"model_walk_{i}",
            roleArn=ROLE_ARN,
            agentRuntimeArtifact=_artifact("model/v1.zip"),
            networkConfiguration={"networkMode": "PUBLIC"},
        )
        for i in range(3)
    ]
    rid = created[0]["agentRuntimeId"]
    ours = {c["agentRuntimeId"] for c in created}

    listed = _pages(call, "ListAgentRuntimes", "agentRuntimes")
    ids = [r["agentRuntimeId"] for r in listed]
    assert ours <= set(ids)
    assert len(ids) == len(set(ids))  # every runtime once across the pages

    call("UpdateAgentRuntime", agentRuntimeId=rid, roleArn=ROLE_ARN,
         agentRuntimeArtifact=_artifact("model/v1.zip"),
         networkConfiguration={"networkMode": "PUBLIC"})  # fmt: skip
    assert call("GetAgentRuntime", agentRuntimeId=rid)["agentRuntimeVersion"] == "2"
    versions = _pages(call, "ListAgentRuntimeVersions", "agentRuntimes", agentRuntimeId=rid)
    assert [v["agentRuntimeVersion"] for v in versions] == ["2", "1"]

    call("CreateAgentRuntimeEndpoint", agentRuntimeId=rid, name="live", agentRuntimeVersion="1")
    call("CreateAgentRuntimeEndpoint", agentRuntimeId=rid, name="beta", agentRuntimeVersion="2")
    moved = call(
        "UpdateAgentRuntimeEndpoint", agentRuntimeId=rid, endpointName="live",
        agentRuntimeVersion="2",
    )  # fmt: skip
    assert moved["targetVersion"] == "2"
    assert (
        call("GetAgentRuntimeEndpoint", agentRuntimeId=rid, endpointName="live")["liveVersion"]
        == "2"
    )
    endpoints = _pages(call, "ListAgentRuntimeEndpoints", "runtimeEndpoints", agentRuntimeId=rid)
    assert [e["name"] for e in endpoints] == ["DEFAULT", "beta", "live"]

    call("DeleteAgentRuntimeEndpoint", agentRuntimeId=rid, endpointName="beta")
    left = call("ListAgentRuntimeEndpoints", agentRuntimeId=rid)["runtimeEndpoints"]
    assert [e["name"] for e in left] == ["DEFAULT", "live"]
    for runtime in created:
        call("DeleteAgentRuntime", agentRuntimeId=runtime["agentRuntimeId"])
    with pytest.raises(ClientError) as gone:
        call("GetAgentRuntime", agentRuntimeId=rid)
    assert gone.value.response["Error"]["Code"] == "ResourceNotFoundException"
    remaining = {r["agentRuntimeId"] for r in call("ListAgentRuntimes")["agentRuntimes"]}
    assert not ours & remaining

    assert sorted(call.called) == RUNTIME_OPERATIONS


def test_bad_paging_and_deletes_are_refused_in_aws_terms(emulator: EmulatorProc) -> None:
    client = emulator.client("bedrock-agentcore-control")
    with pytest.raises(ClientError) as token:
        client.list_agent_runtimes(nextToken="not-a-token")
    assert token.value.response["Error"]["Code"] == "ValidationException"
    with pytest.raises(ClientError) as missing:
        client.delete_agent_runtime(agentRuntimeId="nosuch_runtime-abcdefghij")
    assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"

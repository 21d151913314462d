"""An agent push in the `aws` profile, end to end below the HTTP layer: the code zip (with its
dependencies bundled) goes to S3 (moto), then the runtime is created or updated from it and
the alias endpoint moved in every runtime region (botocore's Stubber: each call's parameters
are validated against the `bedrock-agentcore-control` service model). AWS itself is not
reached."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession

from agentry.config import RegionEndpoints, Settings
from agentry.placement.regional import RegionalControl
from agentry.placement.wiring import region_settings
from agentry.registry import packaging
from agentry.registry.manifest import load_manifest
from agentry.registry.service import publish_version, set_alias
from agentry.runtime.agentcore import AgentCoreControl
from agentry.runtime.artifacts import S3ArtifactStore

REPO = Path(__file__).resolve().parents[2]
BUCKET = "agentry-artifacts-123456789012"
ROLE = "arn:aws:iam::123456789012:role/agentry-runtime"
T = "2026-12-03T07:00:00Z"


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name="eu-west-2")
        client.create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-2"}
        )
        client.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        yield client


def _settings(tmp_path: Path) -> Settings:
    return Settings(
        profile="aws",
        home=tmp_path,
        api_key_pepper=SecretStr("p"),
        public_url="https://api.agentry.example",
        aws_account_id="123456789012",
        runtime_role_arn=ROLE,
        artifact_bucket=BUCKET,
        runtime_regions={"eu-west-1": RegionEndpoints(), "eu-central-1": RegionEndpoints()},
    )


def _control_client(region: str) -> Any:
    return boto3.client(
        "bedrock-agentcore-control",
        region_name=region,
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def _arn(region: str, rid: str) -> str:
    return f"arn:aws:bedrock-agentcore:{region}:123456789012:runtime/{rid}"


def _runtime_params(key: str, version_id: str) -> dict[str, Any]:
    return {
        "agentRuntimeArtifact": {
            "codeConfiguration": {
                "code": {"s3": {"bucket": BUCKET, "prefix": key, "versionId": version_id}},
                "runtime": "PYTHON_3_11",
                "entryPoint": ["main.py"],
            }
        },
        "roleArn": ROLE,
        "networkConfiguration": {"networkMode": "PUBLIC"},
        "lifecycleConfiguration": {"idleRuntimeSessionTimeout": 900, "maxLifetime": 28800},
        "environmentVariables": {
            "AGENTRY_ENTRYPOINT_ATTR": "app",
            "OTEL_SERVICE_NAME": "echo",
        },
    }


def _endpoint(region: str, rid: str, name: str, version: str) -> dict[str, Any]:
    return {
        "agentRuntimeEndpointArn": f"{_arn(region, rid)}/runtime-endpoint/{name}",
        "agentRuntimeArn": _arn(region, rid),
        "status": "READY",
        "createdAt": T,
        "lastUpdatedAt": T,
        "name": name,
        "id": f"{name}-ep",
        "targetVersion": version,
        "liveVersion": version,
    }


async def test_aws_push_creates_then_updates_runtimes_and_moves_endpoints(
    tmp_path: Path, session: AsyncSession, s3: Any
) -> None:
    settings = _settings(tmp_path)
    clients = {r: _control_client(r) for r in settings.effective_runtime_regions}
    stubs = {r: Stubber(c) for r, c in clients.items()}
    control = RegionalControl(
        {r: AgentCoreControl(region_settings(settings, r), client=c) for r, c in clients.items()}
    )
    store = S3ArtifactStore(BUCKET, client=s3)
    manifest = load_manifest(REPO / "agents" / "echo")
    archive = packaging.package_dir(REPO / "agents" / "echo")
    layer = tmp_path / "layer"
    (layer / "fakedep").mkdir(parents=True)
    (layer / "fakedep" / "__init__.py").write_text("VERSION = 1\n")
    code = packaging.bundle(archive, layer)
    key = f"agents/echo/{packaging.digest(archive).removeprefix('sha256:')}.zip"

    # First push: CreateAgentRuntime in both regions, from the object just put in S3.
    def version_id() -> str:
        return str(s3.head_object(Bucket=BUCKET, Key=key)["VersionId"])

    ids = {"eu-west-1": "agentry_echo-W1W1W1W1W1", "eu-central-1": "agentry_echo-C1C1C1C1C1"}
    original_put = store.put

    async def put_then_expect(k: str, data: bytes) -> Any:
        stored = await original_put(k, data)
        for region, stub in stubs.items():
            stub.add_response(
                "create_agent_runtime",
                {
                    "agentRuntimeArn": _arn(region, ids[region]),
                    "agentRuntimeId": ids[region],
                    "agentRuntimeVersion": "1",
                    "createdAt": T,
                    "status": "CREATING",
                },
                {"agentRuntimeName": "agentry_echo", **_runtime_params(k, version_id())},
            )
        return stored

    store.put = put_then_expect  # type: ignore[method-assign]
    for stub in stubs.values():
        stub.activate()
    published = await publish_version(
        session,
        control=control,
        store=store,
        manifest=manifest,
        settings=settings,
        archive=archive,
        created_by="test",
        code=code,
    )
    assert published.created
    agent, version = published.agent, published.version
    assert agent.runtime_id == ids["eu-west-1"]
    assert agent.region_runtimes["eu-central-1"]["arn"] == _arn("eu-central-1", ids["eu-central-1"])
    assert version.region_versions == {"eu-west-1": "1", "eu-central-1": "1"}
    assert version.digest == packaging.digest(archive)  # identity: the pushed archive
    stored = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    with zipfile.ZipFile(io.BytesIO(stored)) as zf:  # what AgentCore runs: code + deps
        assert {"main.py", "agent.toml", "fakedep/__init__.py"} <= set(zf.namelist())

    # The alias: no endpoint yet (ResourceNotFound), so CreateAgentRuntimeEndpoint, per region.
    for region, stub in stubs.items():
        rid = ids[region]
        stub.add_client_error(
            "get_agent_runtime_endpoint",
            service_error_code="ResourceNotFoundException",
            http_status_code=404,
            expected_params={"agentRuntimeId": rid, "endpointName": "live"},
        )
        stub.add_response(
            "create_agent_runtime_endpoint",
            {
                "targetVersion": "1",
                "agentRuntimeEndpointArn": f"{_arn(region, rid)}/runtime-endpoint/live",
                "agentRuntimeArn": _arn(region, rid),
                "status": "CREATING",
                "createdAt": T,
            },
            {"agentRuntimeId": rid, "name": "live", "agentRuntimeVersion": "1"},
        )
    await set_alias(
        session, control=control, settings=settings, agent=agent, alias_name="live", number=1
    )
    for stub in stubs.values():
        stub.assert_no_pending_responses()

    # Second push (new code): UpdateAgentRuntime in each region; the alias endpoint moves.
    manifest2 = manifest.model_copy(update={"description": "echo, second version"})
    archive2 = packaging.package_dir(REPO / "agents" / "echo")
    with zipfile.ZipFile(io.BytesIO(archive2), "a") as zf:
        zf.writestr("NOTES.txt", "v2")
    archive2 = _rezip(archive2)
    key2 = f"agents/echo/{packaging.digest(archive2).removeprefix('sha256:')}.zip"
    store.put = original_put  # type: ignore[method-assign]

    async def put2(k: str, data: bytes) -> Any:
        stored = await original_put(k, data)
        vid = str(s3.head_object(Bucket=BUCKET, Key=key2)["VersionId"])
        for region, stub in stubs.items():
            stub.add_response(
                "update_agent_runtime",
                {
                    "agentRuntimeArn": _arn(region, ids[region]),
                    "agentRuntimeId": ids[region],
                    "agentRuntimeVersion": "2",
                    "createdAt": T,
                    "lastUpdatedAt": T,
                    "status": "UPDATING",
                },
                {"agentRuntimeId": ids[region], **_runtime_params(k, vid)},
            )
        return stored

    store.put = put2  # type: ignore[method-assign]
    second = await publish_version(
        session,
        control=control,
        store=store,
        manifest=manifest2,
        settings=settings,
        archive=archive2,
        created_by="test",
    )
    assert second.created
    assert second.version.number == 2
    assert second.version.region_versions == {"eu-west-1": "2", "eu-central-1": "2"}
    for region, stub in stubs.items():
        rid = ids[region]
        stub.add_response(
            "get_agent_runtime_endpoint",
            _endpoint(region, rid, "live", "1"),
            {"agentRuntimeId": rid, "endpointName": "live"},
        )
        stub.add_response(
            "update_agent_runtime_endpoint",
            {
                "liveVersion": "1",
                "targetVersion": "2",
                "agentRuntimeEndpointArn": f"{_arn(region, rid)}/runtime-endpoint/live",
                "agentRuntimeArn": _arn(region, rid),
                "status": "UPDATING",
                "createdAt": T,
                "lastUpdatedAt": T,
            },
            {"agentRuntimeId": rid, "endpointName": "live", "agentRuntimeVersion": "2"},
        )
    alias = await set_alias(
        session, control=control, settings=settings, agent=second.agent, alias_name="live", number=2
    )
    assert alias.version_number == 2
    for stub in stubs.values():
        stub.assert_no_pending_responses()
        stub.deactivate()


def _rezip(data: bytes) -> bytes:
    """Normalise a zip appended to in place (one central directory)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for name in src.namelist():
            dst.writestr(name, src.read(name))
    return out.getvalue()

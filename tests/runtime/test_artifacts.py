"""Artifact stores and packaging."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber

from agentry.runtime.artifacts import (
    LocalArtifactStore,
    S3ArtifactStore,
    StoredArtifact,
    code_artifact,
)


async def test_local_store_writes_under_bucket(tmp_path: Path) -> None:
    store = LocalArtifactStore(tmp_path, bucket="b")
    stored = await store.put("agents/echo/v1.zip", b"zipbytes")
    assert stored == StoredArtifact("b", "agents/echo/v1.zip")
    assert (tmp_path / "b" / "agents" / "echo" / "v1.zip").read_bytes() == b"zipbytes"
    for bad in ("../x.zip", "/abs.zip", "a/../../x.zip", ""):
        with pytest.raises(ValueError, match="invalid artifact key"):
            await store.put(bad, b"")


async def test_s3_store_puts_object() -> None:
    """AWS is out of reach here: botocore's Stubber checks the request instead."""
    client = boto3.client(
        "s3", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="y"
    )
    with Stubber(client) as stub:
        stub.add_response(
            "put_object",
            {"VersionId": "v42"},
            {"Bucket": "bkt", "Key": "a/v1.zip", "Body": b"data", "ContentType": "application/zip"},
        )
        stored = await S3ArtifactStore("bkt", client=client).put("a/v1.zip", b"data")
        stub.assert_no_pending_responses()
    assert stored == StoredArtifact("bkt", "a/v1.zip", "v42")
    artifact = code_artifact(stored, ["opentelemetry-instrument", "main.py"])
    assert artifact.prefix == "a/v1.zip"
    assert artifact.version_id == "v42"
    assert artifact.entry_point == ["opentelemetry-instrument", "main.py"]

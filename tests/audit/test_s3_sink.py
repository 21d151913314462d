"""The S3 checkpoint sink against moto: Object Lock compliance mode, newest by key order, and
a truncated chain caught from S3 alone. (moto, not AWS: the real bucket policy, KMS and IAM
are not exercised here.)"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agentry.audit.checkpoints import S3Sink
from agentry.audit.service import AuditLog
from agentry.kit.db.engine import session_scope
from agentry.models import AuditCheckpoint, AuditEvent

BUCKET = "agentry-audit-checkpoints"


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    with mock_aws():
        client = boto3.client("s3", region_name="eu-west-1")
        client.create_bucket(
            Bucket=BUCKET,
            CreateBucketConfiguration={"LocationConstraint": "eu-west-1"},
            ObjectLockEnabledForBucket=True,
        )
        yield client


async def test_checkpoints_go_to_s3_under_compliance_lock_and_pin_the_head(
    s3: Any, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    sink = S3Sink(s3, BUCKET, "audit/", retention_days=400)
    log = AuditLog(sessionmaker, b"k", sinks=[sink])
    for n in range(3):
        await log.append_now(actor="key:key_1", action="api_key.create", details={"n": n})
        await log.checkpoint()
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix="audit/")["Contents"]
    assert len(listed) == 3
    head = s3.head_object(Bucket=BUCKET, Key=sorted(o["Key"] for o in listed)[-1])
    assert head["ObjectLockMode"] == "COMPLIANCE"
    assert [c.seq for c in await sink.recent(2)] == [2, 3]
    # Locked: the object cannot be deleted before its retention ends.
    version = s3.list_object_versions(Bucket=BUCKET)["Versions"][0]
    with pytest.raises(ClientError):
        s3.delete_object(Bucket=BUCKET, Key=version["Key"], VersionId=version["VersionId"])

    async with session_scope(sessionmaker) as session:  # the attacker clears the database side
        await session.execute(delete(AuditCheckpoint))
        await session.execute(delete(AuditEvent).where(AuditEvent.seq == 3))
    async with sessionmaker() as session:
        result = await log.verify(session)
    assert not result.ok
    assert result.first_bad_seq == 3
    assert "truncated" in result.reason


@pytest.mark.usefixtures("s3")
def test_sink_setting_picks_the_sink(tmp_path: Any) -> None:
    from agentry.audit.checkpoints import FileSink
    from agentry.audit.wiring import checkpoint_sinks
    from agentry.config import Settings

    local = checkpoint_sinks(Settings(home=tmp_path))
    assert isinstance(local[0], FileSink)
    assert local[0].path == tmp_path / "audit" / "checkpoints.jsonl"
    assert checkpoint_sinks(Settings(home=tmp_path, audit_checkpoint_sink="none")) == []
    remote = checkpoint_sinks(
        Settings(home=tmp_path, audit_checkpoint_sink=f"s3://{BUCKET}/audit/")
    )
    assert isinstance(remote[0], S3Sink)
    with pytest.raises(ValueError, match="unknown sink"):
        checkpoint_sinks(Settings(home=tmp_path, audit_checkpoint_sink="ftp://x"))

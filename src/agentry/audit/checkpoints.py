"""Signed checkpoints of the audit chain's head, kept in the database and published outside it.

A checkpoint says "at time `at` the chain ended at `seq` with row hash `head_hash`", signed
with HMAC-SHA256 under the audit key. `verify` checks every checkpoint it can find against the
chain: a chain shorter than a checkpoint was truncated; a row whose hash differs from a
checkpoint's was rewritten (even with hashes recomputed, which needs the key anyway).

Sinks outside the database make deleting checkpoints together with the tail detectable:
- `FileSink`: a JSON-lines file under the state directory (local profile), append only.
- `S3Sink`: one object per checkpoint under S3 Object Lock (compliance mode), so not even the
  account root can delete or overwrite it before its retention ends (aws profile).
"""

from __future__ import annotations

import asyncio
import hmac
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import orjson

from agentry.kit.clock import utcnow


@dataclass(frozen=True, slots=True)
class Checkpoint:
    seq: int
    head_hash: str
    at: datetime
    signature: str

    def message(self) -> bytes:
        return (
            f"agentry-audit-checkpoint:{self.seq}:{self.head_hash}:{self.at.isoformat()}".encode()
        )

    def to_json(self) -> bytes:
        return orjson.dumps(
            {
                "seq": self.seq,
                "head_hash": self.head_hash,
                "at": self.at.isoformat(),
                "signature": self.signature,
            }
        )

    @classmethod
    def from_json(cls, raw: bytes | str) -> Checkpoint:
        data: dict[str, Any] = orjson.loads(raw)
        return cls(
            seq=int(data["seq"]),
            head_hash=str(data["head_hash"]),
            at=datetime.fromisoformat(str(data["at"])),
            signature=str(data["signature"]),
        )


class Signer:
    def __init__(self, key: bytes) -> None:
        self._key = key

    def sign(self, seq: int, head_hash: str, at: datetime | None = None) -> Checkpoint:
        unsigned = Checkpoint(seq, head_hash, at or utcnow(), "")
        signature = hmac.digest(self._key, unsigned.message(), "sha256").hex()
        return Checkpoint(seq, head_hash, unsigned.at, signature)

    def valid(self, checkpoint: Checkpoint) -> bool:
        expected = hmac.digest(self._key, checkpoint.message(), "sha256").hex()
        return hmac.compare_digest(expected, checkpoint.signature)


class CheckpointSink(Protocol):
    """An append-only store of checkpoints outside the database."""

    name: str

    async def publish(self, checkpoint: Checkpoint) -> None: ...

    async def recent(self, limit: int) -> list[Checkpoint]:
        """The `limit` checkpoints with the highest seq (every one, or as many as exist)."""
        ...


class FileSink:
    """Local profile: one JSON line per checkpoint, appended (O_APPEND) to a file."""

    name = "file"

    def __init__(self, path: Path) -> None:
        self.path = path

    async def publish(self, checkpoint: Checkpoint) -> None:
        await asyncio.to_thread(self._append, checkpoint.to_json() + b"\n")

    def _append(self, line: bytes) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)

    async def recent(self, limit: int) -> list[Checkpoint]:
        if not self.path.exists():
            return []
        lines = (await asyncio.to_thread(self.path.read_bytes)).splitlines()
        found = [Checkpoint.from_json(line) for line in lines if line.strip()]
        return sorted(found, key=lambda c: c.seq)[-limit:]


class S3Sink:
    """AWS: one object per checkpoint in a bucket with Object Lock enabled (compliance mode).

    Keys sort by seq (`<prefix><seq:020d>-<unix ms>.json`), so the newest are the last listed.
    """

    name = "s3"

    def __init__(self, client: Any, bucket: str, prefix: str, retention_days: int) -> None:
        self._client = client
        self._bucket = bucket
        self._prefix = prefix
        self._retention = timedelta(days=retention_days)

    def _key(self, checkpoint: Checkpoint) -> str:
        millis = int(checkpoint.at.timestamp() * 1000)
        return f"{self._prefix}{checkpoint.seq:020d}-{millis}.json"

    async def publish(self, checkpoint: Checkpoint) -> None:
        await asyncio.to_thread(
            self._client.put_object,
            Bucket=self._bucket,
            Key=self._key(checkpoint),
            Body=checkpoint.to_json(),
            ContentType="application/json",
            ObjectLockMode="COMPLIANCE",
            ObjectLockRetainUntilDate=checkpoint.at + self._retention,
        )

    async def recent(self, limit: int) -> list[Checkpoint]:
        return await asyncio.to_thread(self._recent, limit)

    def _recent(self, limit: int) -> list[Checkpoint]:
        keys: list[str] = []
        pages = self._client.get_paginator("list_objects_v2")
        for page in pages.paginate(Bucket=self._bucket, Prefix=self._prefix):
            keys.extend(obj["Key"] for obj in page.get("Contents", []))
        out = []
        for key in sorted(keys)[-limit:]:
            body = self._client.get_object(Bucket=self._bucket, Key=key)["Body"].read()
            out.append(Checkpoint.from_json(body))
        return out


def s3_sink(url: str, region: str, retention_days: int) -> S3Sink:
    """`s3://bucket/prefix/` as a sink (boto3's default credential chain)."""
    import boto3  # type: ignore[import-untyped]

    bucket, _, prefix = url.removeprefix("s3://").partition("/")
    return S3Sink(boto3.client("s3", region_name=region), bucket, prefix, retention_days)


def newest(found: Sequence[Checkpoint]) -> Checkpoint | None:
    return max(found, key=lambda c: c.seq, default=None)

"""Code artifacts: agent zips in S3 (AWS) or under `<home>/artifacts/<bucket>/<key>` (local).

The local emulator resolves a runtime's `code.s3{bucket, prefix}` to that same file, so the
same CreateAgentRuntime call works against both.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

from agentry.config import Settings
from agentry.runtime.base import CodeArtifact

DEFAULT_BUCKET = "agentry-artifacts"
_SKIP_DIRS = frozenset(
    {"__pycache__", ".venv", ".git", ".mypy_cache", ".pytest_cache", ".ruff_cache"}
)
_FIXED_DATE = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True, slots=True)
class StoredArtifact:
    bucket: str
    key: str
    version_id: str | None = None


class ArtifactStore(Protocol):
    bucket: str

    async def put(self, key: str, data: bytes) -> StoredArtifact: ...


def _check_key(key: str) -> str:
    parts = PurePosixPath(key).parts
    if not key or key.startswith("/") or ".." in parts or "\\" in key:
        raise ValueError(f"invalid artifact key: {key!r}")
    return key


class LocalArtifactStore:
    """Writes `<root>/<bucket>/<key>` atomically; root defaults to settings.artifacts_dir."""

    def __init__(self, root: Path, bucket: str = DEFAULT_BUCKET) -> None:
        self.root = root
        self.bucket = bucket

    @classmethod
    def from_settings(cls, settings: Settings, bucket: str = DEFAULT_BUCKET) -> LocalArtifactStore:
        return cls(settings.artifacts_dir, bucket)

    def path(self, key: str) -> Path:
        return self.root / self.bucket / _check_key(key)

    async def put(self, key: str, data: bytes) -> StoredArtifact:
        await asyncio.to_thread(self._write, self.path(key), data)
        return StoredArtifact(self.bucket, key)

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


class S3ArtifactStore:
    """Puts artifacts in S3 with boto3 (versioned buckets give a version id)."""

    def __init__(self, bucket: str, *, client: Any = None, region: str | None = None) -> None:
        if client is None:
            import boto3  # type: ignore[import-untyped]

            client = boto3.client("s3", region_name=region)
        self.bucket = bucket
        self._client = client

    async def put(self, key: str, data: bytes) -> StoredArtifact:
        response = await asyncio.to_thread(
            self._client.put_object,
            Bucket=self.bucket,
            Key=_check_key(key),
            Body=data,
            ContentType="application/zip",
        )
        return StoredArtifact(self.bucket, key, response.get("VersionId"))


def code_artifact(
    stored: StoredArtifact, entry_point: Iterable[str] = ("main.py",), runtime: str = "PYTHON_3_11"
) -> CodeArtifact:
    """The `codeConfiguration` for a stored zip."""
    return CodeArtifact(
        bucket=stored.bucket,
        prefix=stored.key,
        entry_point=list(entry_point),
        runtime=runtime,
        version_id=stored.version_id,
    )

"""Build the process's `AuditLog` from settings: its keys and its checkpoint sinks."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agentry.api_keys.pepper import api_key_pepper
from agentry.audit.checkpoints import CheckpointSink, FileSink, s3_sink
from agentry.audit.service import AuditLog
from agentry.config import Settings
from agentry.kit.periodic import Periodic


def checkpoint_sinks(settings: Settings) -> list[CheckpointSink]:
    target = settings.audit_checkpoint_sink
    if not target:
        target = (
            f"file:{settings.home / 'audit' / 'checkpoints.jsonl'}"
            if settings.profile == "local"
            else "none"
        )
    if target == "none":
        return []
    if target.startswith("file:"):
        return [FileSink(Path(target.removeprefix("file:")))]
    if target.startswith("s3://"):
        return [s3_sink(target, settings.aws_region, settings.audit_checkpoint_retention_days)]
    raise ValueError(f"AGENTRY_AUDIT_CHECKPOINT_SINK: unknown sink '{target}'")


def build_audit_log(settings: Settings, maker: async_sessionmaker[AsyncSession]) -> AuditLog:
    pepper = api_key_pepper(settings)
    chain_key = settings.audit_key.get_secret_value().encode() or None
    return AuditLog(maker, pepper, chain_key=chain_key, sinks=checkpoint_sinks(settings))


def checkpoint_publisher(settings: Settings, audit: AuditLog) -> Periodic:
    """Signs and publishes the chain head every `audit_checkpoint_interval_s` (every replica
    may run it: an unchanged head is not checkpointed again)."""
    return Periodic("audit-checkpoints", settings.audit_checkpoint_interval_s, audit.checkpoint)

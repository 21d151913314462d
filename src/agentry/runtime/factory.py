"""Pick the runtime implementations from settings."""

from __future__ import annotations

from agentry.config import Settings
from agentry.runtime.agentcore import AgentCoreControl, AgentCoreRuntime
from agentry.runtime.artifacts import ArtifactStore, LocalArtifactStore, S3ArtifactStore
from agentry.runtime.base import AgentRuntime, RuntimeControl
from agentry.runtime.local import LocalRuntime


def build_runtime(settings: Settings) -> AgentRuntime:
    if settings.runtime_mode == "local":
        return LocalRuntime(settings)
    return AgentCoreRuntime(settings)


def build_control(settings: Settings) -> RuntimeControl:
    return AgentCoreControl(settings)


def build_artifact_store(settings: Settings) -> ArtifactStore:
    if settings.profile == "aws":
        return S3ArtifactStore(settings.artifact_bucket, region=settings.aws_region)
    return LocalArtifactStore.from_settings(settings, settings.artifact_bucket)

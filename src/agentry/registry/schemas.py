from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from agentry.kit.bounds import INT32_MAX
from agentry.kit.text import LABEL_PATTERN, TEXT_PATTERN


class AliasRead(BaseModel):
    name: str
    version: int


class AgentRead(BaseModel):
    name: str
    description: str
    modes: list[str]
    aliases: list[AliasRead]


class AgentList(BaseModel):
    items: list[AgentRead]


class AgentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=48, pattern=LABEL_PATTERN)
    description: str = Field("", max_length=2000, pattern=TEXT_PATTERN)


class VersionRead(BaseModel):
    number: int
    digest: str
    runtime_version: str
    artifact_uri: str
    created_by: str | None
    created_at: datetime
    requirements: list[str]


class AliasState(BaseModel):
    name: str
    version: int
    previous_version: int | None = None
    canary_version: int | None = None
    canary_weight: int = 0
    canary_started_at: datetime | None = None


class RegistryAgent(BaseModel):
    name: str
    description: str
    runtime_id: str | None
    runtime_arn: str | None
    versions: list[VersionRead]
    aliases: list[AliasState]


class RegistryAgentList(BaseModel):
    items: list[RegistryAgent]


class VersionList(BaseModel):
    agent: str
    items: list[VersionRead]
    aliases: list[AliasState]


class UploadResult(BaseModel):
    agent: str
    created: bool = Field(description="False when this exact content already was a version.")
    version: VersionRead
    layer: str | None = Field(description="Dependency layer key; null without requirements.")
    layer_reused: bool
    build_s: float
    aliases: list[AliasState] = Field(
        description="Where the agent's aliases point now (so a client needs no second call)."
    )


class AliasRoute(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = Field(ge=1, le=INT32_MAX, description="The stable version.")
    canary_version: int | None = Field(
        None, ge=1, le=INT32_MAX, description="Optional canary version."
    )
    canary_weight: int = Field(0, ge=0, le=99, description="Percent of new sessions to canary.")


class GateReport(BaseModel):
    version: int
    ping_ms: int = 0
    golden_passed: int = 0
    golden_ms: int = 0


class AliasMoved(BaseModel):
    agent: str
    alias: AliasState
    gates: list[GateReport]


class SessionLogs(BaseModel):
    agent: str
    session: str | None
    files: list[str]
    text: str

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from agentry.kit.bounds import STEP_MAX

JobStatusName = Literal["queued", "running", "succeeded", "failed", "cancelled", "timed_out"]


class JobCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    input: dict[str, Any] = Field(description="The agent's payload (a JSON object).")
    session_id: str | None = Field(
        None, min_length=1, max_length=200, description="Client session id (namespaced)."
    )
    alias: str = Field("live", pattern=r"^[a-z][a-z0-9_-]{0,47}$")
    webhook_url: str | None = Field(
        None, max_length=2000, description="Also send this job's terminal event here."
    )


class JobError(BaseModel):
    code: str
    message: str | None = None


class JobOut(BaseModel):
    id: str
    agent: str
    version: int
    alias: str
    status: JobStatusName
    session_id: str
    progress: dict[str, Any] | None = None
    result: Any | None = None
    error: JobError | None = None
    attempts: int
    sessions: int = Field(
        1,
        description="Runtime sessions the job has run in. A session lives 8 h at most; a job "
        "still running then continues in a new one from its last checkpoint.",
    )
    webhook_url: str | None = None
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None


class JobCreated(JobOut):
    webhook_secret: str | None = Field(
        None,
        description="`whsec_` secret that signs this job's webhook_url deliveries. Shown once.",
    )


class JobPage(BaseModel):
    items: list[JobOut]
    next_cursor: str | None = None


class ProgressIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    step: int | None = Field(None, ge=0, le=STEP_MAX)
    total: int | None = Field(None, ge=0, le=STEP_MAX)
    message: str | None = Field(None, max_length=2000)
    percent: float | None = Field(None, ge=0, le=100)


class CheckpointIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    checkpoint: Any


class ResultIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    result: Any


class FailIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    message: str = Field(max_length=4000)


class CallbackAck(BaseModel):
    ok: bool = True
    token: str = Field(description="A fresh invocation token; use it for the next callback.")

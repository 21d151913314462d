from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from agentry.kit.text import LABEL_PATTERN


class EndpointCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(max_length=2000)
    description: str = Field("", max_length=200, pattern=LABEL_PATTERN)


class EndpointOut(BaseModel):
    id: str
    url: str
    description: str
    status: str
    disabled_reason: str | None = None
    created_at: datetime


class EndpointCreated(EndpointOut):
    secret: str = Field(description="The `whsec_` signing secret. Shown once.")


class EndpointList(BaseModel):
    items: list[EndpointOut]


class DeadLetter(BaseModel):
    id: str
    tenant_id: str
    endpoint_id: str | None
    job_id: str | None
    url: str
    event_type: str
    payload: dict[str, Any]
    attempts: int
    last_status_code: int | None
    last_error: str | None
    created_at: datetime


class DeadLetterList(BaseModel):
    items: list[DeadLetter]

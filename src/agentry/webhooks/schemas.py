from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from agentry.kit.text import LABEL_PATTERN, IsoDateTime

RatePerS = Field(None, ge=1, le=1000, description="Most deliveries per second; null: no limit.")


class EndpointCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(max_length=2000)
    description: str = Field("", max_length=200, pattern=LABEL_PATTERN)
    event_types: list[str] = Field(
        default_factory=list, max_length=20, description="Only these event types; empty: all."
    )
    rate_limit_per_s: int | None = RatePerS


class EndpointUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: str | None = Field(None, max_length=200, pattern=LABEL_PATTERN)
    event_types: list[str] | None = Field(None, max_length=20)
    rate_limit_per_s: int | None = RatePerS


class EndpointOut(BaseModel):
    id: str
    url: str
    description: str
    status: str
    disabled_reason: str | None = None
    created_at: datetime
    event_types: list[str] = Field(default_factory=list)
    rate_limit_per_s: int | None = None
    failing_since: datetime | None = None
    disabled_at: datetime | None = None
    previous_secret_expires_at: datetime | None = Field(
        None, description="During a secret rotation: when the old secret stops signing."
    )


class SecretRotate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    overlap_s: int = Field(86400, ge=0, le=7 * 86400, description="Both secrets sign meanwhile.")


class SecretRotated(EndpointOut):
    secret: str = Field(description="The new `whsec_` secret. Shown once.")


class Replay(BaseModel):
    model_config = ConfigDict(extra="forbid")

    since: IsoDateTime | None = Field(None, description="Failed deliveries created since; 7 days.")


class OperatorReplay(Replay):
    tenant_id: str | None = Field(None, description="Only this tenant's; default every tenant.")


class Replayed(BaseModel):
    replayed: int


class Enable(BaseModel):
    model_config = ConfigDict(extra="forbid")

    replay_missed: bool = Field(False, description="Send what was held while it was disabled.")


class Enabled(EndpointOut):
    replayed: int


class DeliveryOut(BaseModel):
    id: str = Field(description="The `webhook-id`, the same on every attempt.")
    event_type: str
    status: str = Field(description="pending, delivered, dead, gone or held (while disabled).")
    attempts: int
    last_status_code: int | None
    last_error: str | None
    last_latency_ms: int | None
    next_attempt_at: datetime | None
    created_at: datetime
    delivered_at: datetime | None


class DeliveryList(BaseModel):
    items: list[DeliveryOut]


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

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from agentry.jobs.schemas import JobOut


class OpsJob(JobOut):
    tenant_id: str
    age_s: float = Field(description="Seconds since the job was created.")


class OpsJobList(BaseModel):
    items: list[OpsJob]


class RuntimeSession(BaseModel):
    runtime_arn: str
    session_id: str
    tenant_id: str | None = Field(description="The tenant the session belongs to, if any.")
    version: str
    pid: int | None = None
    status: str
    inflight: int
    started_at: datetime | None = None
    last_activity: datetime | None = None


class TenantSessions(BaseModel):
    tenant_id: str | None
    sessions: int
    share_of_quota: float = Field(description="This tenant's sessions / the account quota.")


class SessionList(BaseModel):
    items: list[RuntimeSession]
    quota: int = Field(description="Concurrent runtime sessions the account may hold.")
    used: float = Field(description="Live sessions / quota (0..1).")
    by_tenant: list[TenantSessions]


class SessionStop(BaseModel):
    model_config = ConfigDict(extra="forbid")

    session_id: str = Field(min_length=1, max_length=256)


class QueueState(BaseModel):
    count: int
    oldest_age_s: float | None = None


class Health(BaseModel):
    status: str = Field(description="`ok`, or `attention` when something below needs an operator.")
    checks: dict[str, str]
    jobs: dict[str, QueueState]
    webhooks: dict[str, QueueState]
    sessions: int | None = Field(description="Live runtime sessions (local profile only).")
    session_quota: int
    attention: list[str] = Field(description="What needs an operator, one line each.")


class KeyStatus(BaseModel):
    signing_kid: str = Field(description="The key id new invocation tokens are signed with.")
    signing_retired_kids: list[str] = Field(
        description="Old signing keys still published in the JWKS and still verifying."
    )
    webhook_box_keys: int = Field(description="Keys that open sealed secrets (newest seals).")
    webhook_box_rotatable: bool
    api_key_peppers: int = Field(description="Peppers API keys verify with (newest hashes).")
    api_key_pepper_rotatable: bool


class SigningRotated(BaseModel):
    old_kid: str
    new_kid: str
    published_kids: list[str]


class SigningRetired(BaseModel):
    retired_kids: list[str]
    published_kids: list[str]


class Resealed(BaseModel):
    resealed: dict[str, int] = Field(description="Values re-encrypted, per table.")
    webhook_box_keys: int


class Retired(BaseModel):
    dropped: int = Field(description="Old keys removed.")
    remaining: int


class TenantPeak(BaseModel):
    tenant_id: str
    tenant_slug: str | None
    peak_sessions: int = Field(description="Most runtime sessions this tenant held at once.")
    peak_at: datetime | None
    sessions: int = Field(description="Runtime sessions this tenant used in the window.")


class Capacity(BaseModel):
    days: int
    since: datetime
    until: datetime
    idle_s: int = Field(description="A session counts this long after its last call ends.")
    sessions: int = Field(description="Runtime sessions used in the window.")
    peak_sessions: int = Field(description="Most runtime sessions held at once, all tenants.")
    peak_at: datetime | None
    by_tenant: list[TenantPeak] = Field(description="Top tenants by their own peak.")
    peak_invocations_per_second: int
    peak_invocations_per_minute: int
    quota: int = Field(description="The configured account quota (AGENTRY_RUNTIME_SESSION_QUOTA).")
    headroom: float = Field(description="(quota - peak) / quota; negative when over.")
    growth_factor: float
    step: int = Field(description="The recommendation is rounded up to a multiple of this.")
    recommended_quota: int = Field(description="ceil(peak x growth_factor / step) x step.")
    increase_needed: bool = Field(description="The recommendation is above the quota.")

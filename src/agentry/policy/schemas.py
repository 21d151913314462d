from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from agentry.policy.engine import MAX_POLICY_CHARS


class PolicyPublish(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(max_length=MAX_POLICY_CHARS, description="Cedar policies (see the schema).")
    note: str = Field("", max_length=500)
    force: bool = Field(
        False, description="Publish even if it denies every action of the set's administrators."
    )


class PolicyRollback(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int | None = Field(
        None, ge=1, le=1_000_000, description="Omit: the version enforced before the current one."
    )


class PolicyVersionRead(BaseModel):
    number: int
    sha256: str
    note: str
    created_by: str
    created_at: datetime
    enforced_at: datetime | None


class PolicyVersionText(PolicyVersionRead):
    text: str


class ShadowReport(BaseModel):
    version: int
    evaluated: int = Field(description="Live decisions this process evaluated with it.")
    would_deny: int = Field(description="Allowed now, denied by the shadow version.")
    would_allow: int = Field(description="Denied now, allowed by the shadow version.")


class PolicySetRead(BaseModel):
    enforced_version: int | None = Field(description="ENFORCE: decides.")
    shadow_version: int | None = Field(description="LOG_ONLY: evaluated and counted only.")
    versions: list[PolicyVersionRead]
    shadow_report: ShadowReport | None

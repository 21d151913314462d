from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

# A pragmatic address check (one @, a dot in the domain, no spaces); delivery proves the rest.
EMAIL_PATTERN = r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$"
MemberRole = Literal["member", "developer", "admin"]


class MemberInvite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(max_length=320, pattern=EMAIL_PATTERN, description="Their sign-in address.")
    role: MemberRole = Field("member", description="member, developer or admin.")


class MemberUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: MemberRole | None = Field(None, description="The new role; omitted: unchanged.")


class MemberRead(BaseModel):
    id: str
    email: str
    role: str
    status: str = Field(description="`invited` until they first sign in, then `active`.")
    invited_by: str | None
    created_at: datetime
    updated_at: datetime


class MemberList(BaseModel):
    items: list[MemberRead]

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from agentry.identity.principal import Scope
from agentry.kit.text import LABEL_PATTERN

# Scopes a tenant may put on its own keys (platform:admin is only for operator keys).
GRANTABLE = sorted(s.value for s in Scope if s is not Scope.platform_admin)


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, pattern=LABEL_PATTERN)
    scopes: list[Scope] = Field(
        default_factory=lambda: [Scope.invoke],
        min_length=1,
        description=f"Any of {', '.join(GRANTABLE)}; at most the caller's own scopes.",
    )
    expires_at: datetime | None = Field(None, description="When the key stops working (UTC).")


class ApiKeyRotate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    old_key_expires_in_s: int = Field(
        86400,
        ge=0,
        le=30 * 86400,
        description="How long the old key keeps working next to the new one (0 = now).",
    )


class ApiKeyRead(BaseModel):
    id: str
    name: str
    display_prefix: str
    role: str
    scopes: list[str]
    created_by: str | None
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


class ApiKeyCreated(ApiKeyRead):
    secret: str = Field(description="The key. Shown this once; only its hash is stored.")


class ApiKeyList(BaseModel):
    items: list[ApiKeyRead]

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from agentry.kit.text import LABEL_PATTERN
from agentry.models.tenant import Tier

EntraTenantId = Annotated[
    str,
    StringConstraints(
        pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
        to_lower=True,
    ),
]


class TenantOnboard(BaseModel):
    model_config = ConfigDict(extra="forbid")

    slug: str = Field(pattern=r"^[a-z][a-z0-9-]{1,62}$")
    name: str = Field(min_length=1, max_length=200, pattern=LABEL_PATTERN)
    tier: Tier = Tier.basic
    entra_tenant_ids: list[EntraTenantId] = Field(default_factory=list, max_length=20)


class TenantUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tier: Tier | None = None
    entra_tenant_ids: list[EntraTenantId] | None = Field(None, max_length=20)


class TenantRead(BaseModel):
    id: str
    slug: str
    display_name: str
    tier: str
    status: str
    created_at: datetime
    entra_tenant_ids: list[str]


class TenantOnboarded(TenantRead):
    admin_key: str = Field(description="The first admin API key. Shown this once.")
    admin_key_id: str


class TenantList(BaseModel):
    items: list[TenantRead]


class TenantErased(BaseModel):
    id: str
    erased: bool
    rows_deleted: dict[str, int]

"""Factory functions for test data."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from agentry.api_keys.service import IssuedKey, issue_key
from agentry.identity.principal import Role
from agentry.models import Tenant
from agentry.tenants.service import create_tenant

PEPPER = b"test-pepper"


async def make_tenant(
    session: AsyncSession, *, tier: str = "basic", slug: str | None = None
) -> Tenant:
    return await create_tenant(
        session,
        slug=slug or f"t-{uuid.uuid4().hex[:10]}",
        display_name="Test tenant",
        tier=tier,
    )


async def make_key(
    session: AsyncSession,
    tenant: Tenant,
    *,
    role: Role = Role.admin,
    expires_at: datetime | None = None,
) -> IssuedKey:
    return await issue_key(
        session, tenant, name="test key", role=role, pepper=PEPPER, expires_at=expires_at
    )

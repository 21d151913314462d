"""Factory functions for test data."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from agentry.agent_auth.tokens import TokenSigner
from agentry.api_keys.service import IssuedKey, issue_key
from agentry.identity.principal import Role
from agentry.kit.ids import new_id
from agentry.models import Tenant
from agentry.tenants.service import create_tenant
from agentry.testing.stack import Stack

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


def stack_signer(stack: Stack) -> TokenSigner:
    """The stack's own invocation-token signing key (as its API process holds it)."""
    return TokenSigner(stack.home / "agent-auth", issuer=stack.url)


def agent_token(
    signer: TokenSigner,
    *,
    tenant_id: str,
    tier: str,
    invocation_id: str | None = None,
    agent: str = "concierge",
    session_id: str = "s",
    scopes: tuple[str, ...] = ("model", "tools"),
    **claims: Any,
) -> str:
    """An invocation token as the platform issues one to an agent run (version 1 of `agent`);
    `claims`: the rest of TokenSigner.sign's (tools, chain, agents, ...)."""
    return signer.sign(
        tenant_id=tenant_id,
        tier=tier,
        agent=agent,
        version=1,
        invocation_id=invocation_id or new_id("inv"),
        session_id=session_id,
        scopes=scopes,
        **claims,
    )

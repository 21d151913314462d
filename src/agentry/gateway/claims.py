"""What the gateway knows about a caller: the verified claims of its invocation token."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from agentry.gateway.policy import Subject


@dataclass(frozen=True, slots=True)
class InvocationClaims:
    tenant_id: str
    tier: str
    agent: str
    version: int
    invocation_id: str
    session_id: str
    scopes: frozenset[str]
    jti: str
    tools: frozenset[str] | None = None  # the agent's declared tools, when it declares any
    expires_at: float = float("inf")  # unix seconds (the token's `exp`)

    @property
    def subject(self) -> Subject:
        return Subject(
            tenant_id=self.tenant_id, tier=self.tier, agent=self.agent, agent_tools=self.tools
        )

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> InvocationClaims:
        """Map a verified JWT payload (claim names as the platform signs them)."""
        tools = payload.get("tools")
        return cls(
            tenant_id=str(payload["tenant"]),
            tier=str(payload["tier"]),
            agent=str(payload["agent"]),
            version=int(payload["version"]),
            invocation_id=str(payload["invocation_id"]),
            session_id=str(payload["session_id"]),
            scopes=frozenset(str(payload.get("scope", "")).split()),
            jti=str(payload["jti"]),
            tools=frozenset(tools) if isinstance(tools, list) else None,
            expires_at=float(payload.get("exp", float("inf"))),
        )


class InvalidInvocationToken(Exception):
    """Missing, malformed, expired or foreign token."""


class TokenVerifier(Protocol):
    def verify(self, token: str) -> InvocationClaims:
        """Return the claims of a valid token or raise InvalidInvocationToken."""
        ...

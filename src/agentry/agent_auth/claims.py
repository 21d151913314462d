"""What a verified invocation token says, and the errors a bad one raises.

One type for every consumer: the job callbacks, the model gateway, the tool gateway's
interceptors (in-process and in the AgentCore Gateway interceptor Lambda).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agentry.kit.errors import Unauthorized


class InvalidInvocationToken(Unauthorized):
    """Missing, malformed, expired or foreign token."""

    code = "invalid_invocation_token"
    title = "Missing, invalid or expired invocation token"


class InvocationEnded(InvalidInvocationToken):
    """A valid token whose invocation has finished: nothing may be done with it any more."""

    code = "invocation_ended"
    title = "The invocation this token was issued for has ended"


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
    attempt: int | None = None  # a job's attempt the token was issued for (job callbacks)

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
            tools=frozenset(str(t) for t in tools) if isinstance(tools, list) else None,
            expires_at=float(payload.get("exp", float("inf"))),
            attempt=int(payload["attempt"]) if isinstance(payload.get("attempt"), int) else None,
        )

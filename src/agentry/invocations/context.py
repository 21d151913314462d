"""What an agent that uses the gateways receives: `payload["_agentry"]`.

A short-lived invocation token (never the tenant's credential) with only the scopes its
manifest asks for, and the URLs of the model and tool gateways. Sync calls and jobs build it
the same way; every attempt of a job is one invocation (`invocation_id` is the job id).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agentry.agent_auth.ended import EndedInvocations
from agentry.agent_auth.tokens import TokenSigner
from agentry.identity.principal import Principal
from agentry.kit.errors import ValidationFailed
from agentry.registry.routing import Route

CONTEXT_KEY = "_agentry"


class InputMustBeObject(ValidationFailed):
    code = "input_must_be_object"
    title = "This agent takes a JSON object as input"


@dataclass(frozen=True, slots=True)
class Invocation:
    """One invocation of one agent version for one tenant, and the tools its manifest declares
    (None: the agent uses no gateway)."""

    tenant_id: str
    tier: str
    agent: str
    version: int
    invocation_id: str
    session_id: str
    tools: frozenset[str] | None

    @classmethod
    def of_call(
        cls, principal: Principal, route: Route, version: int, invocation_id: str, session_id: str
    ) -> Invocation:
        return cls(
            tenant_id=principal.tenant_id,
            tier=principal.tier,
            agent=route.agent_name,
            version=version,
            invocation_id=invocation_id,
            session_id=session_id,
            tools=route.tools if route.uses_gateways else None,
        )

    @property
    def uses_gateways(self) -> bool:
        return self.tools is not None

    @property
    def gateway_scopes(self) -> tuple[str, ...]:
        if self.tools is None:
            return ()
        return ("model", "tools") if self.tools else ("model",)


class AgentContext:
    def __init__(
        self, signer: TokenSigner, public_url: str, ended: EndedInvocations | None = None
    ) -> None:
        self._signer = signer
        self._base = public_url.rstrip("/")
        self._ended = ended

    async def end(self, invocation_id: str) -> None:
        """The invocation is over: refuse its token from now on."""
        if self._ended is not None:
            await self._ended.end(invocation_id)

    def token(
        self, invocation: Invocation, *, jobs: bool = False, attempt: int | None = None
    ) -> str:
        """The invocation token: the gateway scopes, plus `jobs` for an async agent's callbacks
        (bound to the job's attempt)."""
        return self._signer.sign(
            tenant_id=invocation.tenant_id,
            tier=invocation.tier,
            agent=invocation.agent,
            version=invocation.version,
            invocation_id=invocation.invocation_id,
            session_id=invocation.session_id,
            scopes=(("jobs",) if jobs else ()) + invocation.gateway_scopes,
            tools=sorted(invocation.tools) if invocation.tools is not None else None,
            attempt=attempt,
        )

    def gateway_urls(self, invocation: Invocation) -> dict[str, str]:
        return {
            "invocation_id": invocation.invocation_id,
            "model_url": f"{self._base}/agent/v1/chat/completions",
            "tools_url": f"{self._base}/agent/mcp/",
        }

    def inject(self, payload: Any, invocation: Invocation) -> dict[str, Any]:
        if not isinstance(payload, dict):
            raise InputMustBeObject(f"Agent '{invocation.agent}' needs `input` to be an object.")
        return {
            **payload,
            CONTEXT_KEY: {**self.gateway_urls(invocation), "token": self.token(invocation)},
        }

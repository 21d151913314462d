"""What an agent that uses the gateways receives: `payload["_agentry"]`.

A short-lived invocation token (never the tenant's credential) with only the scopes its
manifest asks for, and the URLs of the model and tool gateways. Sync calls and jobs build it
the same way; every attempt of a job is one invocation (`invocation_id` is the job id).
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from agentry.agent_auth.ended import EndedInvocations
from agentry.agent_auth.tokens import TokenSigner
from agentry.identity.principal import Principal
from agentry.kit.errors import ValidationFailed
from agentry.registry.routing import Route

CONTEXT_KEY = "_agentry"


@dataclass(frozen=True, slots=True)
class Delegation:
    """An agent's call of another agent (A2A), as its invocation token says."""

    parent_invocation_id: str
    caller: str  # the calling agent
    chain: tuple[str, ...]  # root first, the caller last
    trace_id: str

    @property
    def depth(self) -> int:
        """The callee's depth: 1 for an agent a tenant's own call delegated to."""
        return len(self.chain)


# Set by the delegation endpoint around its call into InvocationService (and inherited by
# the stream task it starts): the callee's payload, token and invocation row carry it.
delegation_var: ContextVar[Delegation | None] = ContextVar("delegation", default=None)


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
    agents: frozenset[str] = frozenset()  # the agents it may delegate to
    chain: tuple[str, ...] = ()  # agents that called their way here (A2A), this one last
    trace_id: str = ""  # the root call's request id, shared by every hop

    @classmethod
    def of_call(
        cls,
        principal: Principal,
        route: Route,
        version: int,
        invocation_id: str,
        session_id: str,
        *,
        chain: tuple[str, ...] = (),
        trace_id: str = "",
    ) -> Invocation:
        return cls(
            tenant_id=principal.tenant_id,
            tier=principal.tier,
            agent=route.agent_name,
            version=version,
            invocation_id=invocation_id,
            session_id=session_id,
            tools=route.tools if route.uses_gateways else None,
            agents=route.agents,
            chain=(*chain, route.agent_name),
            trace_id=trace_id,
        )

    @property
    def uses_gateways(self) -> bool:
        return self.tools is not None

    @property
    def gateway_scopes(self) -> tuple[str, ...]:
        if self.tools is None:
            return ()
        scopes = ("model", "tools") if self.tools else ("model",)
        return (*scopes, "agents") if self.agents else scopes


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
            agents=sorted(invocation.agents) if invocation.agents else None,
            chain=list(invocation.chain or (invocation.agent,)),
            trace_id=invocation.trace_id or invocation.invocation_id,
        )

    def gateway_urls(self, invocation: Invocation) -> dict[str, str]:
        return {
            "invocation_id": invocation.invocation_id,
            "model_url": f"{self._base}/agent/v1/chat/completions",
            "tools_url": f"{self._base}/agent/mcp/",
            "agents_url": f"{self._base}/agent/v1/agents",
        }

    def inject(self, payload: Any, invocation: Invocation) -> dict[str, Any]:
        if not isinstance(payload, dict):
            raise InputMustBeObject(f"Agent '{invocation.agent}' needs `input` to be an object.")
        return {
            **payload,
            CONTEXT_KEY: {**self.gateway_urls(invocation), "token": self.token(invocation)},
        }

"""What an agent that uses the gateways receives: `payload["_agentry"]`.

A short-lived invocation token (never the tenant's credential) with only the scopes its
manifest asks for, and the URLs of the model and tool gateways.
"""

from __future__ import annotations

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

    def inject(
        self, payload: Any, principal: Principal, route: Route, invocation_id: str, session_id: str
    ) -> dict[str, Any]:
        if not isinstance(payload, dict):
            raise InputMustBeObject(f"Agent '{route.agent_name}' needs `input` to be an object.")
        scopes = ("model", "tools") if route.tools else ("model",)
        token = self._signer.sign(
            tenant_id=principal.tenant_id,
            tier=principal.tier,
            agent=route.agent_name,
            version=route.version_number,
            invocation_id=invocation_id,
            session_id=session_id,
            scopes=scopes,
            tools=sorted(route.tools),
        )
        return {
            **payload,
            CONTEXT_KEY: {
                "invocation_id": invocation_id,
                "token": token,
                "model_url": f"{self._base}/agent/v1/chat/completions",
                "tools_url": f"{self._base}/agent/mcp/",
            },
        }

"""The platform's check before any agent runs for a tenant (sync, stream, job, A2A): policy
(`InvokeAgent`) now; marketplace entitlement joins it. Never in the agent."""

from __future__ import annotations

from agentry.identity.principal import Principal
from agentry.policy.engine import Request
from agentry.policy.service import PolicyService
from agentry.registry.routing import Route


class InvocationGate:
    def __init__(self, policies: PolicyService | None) -> None:
        self.policies = policies

    async def admit(self, principal: Principal, route: Route, mode: str) -> None:
        if self.policies is not None:
            await self.policies.check(
                Request(
                    principal.tenant_id,
                    principal.tier,
                    "InvokeAgent",
                    route.agent_name,
                    role=principal.role.value,
                    mode=mode,
                ),
                mode=mode,
            )

"""The platform's check before any agent runs for a tenant (sync, stream, job, A2A): policy
(`InvokeAgent`) now; marketplace entitlement joins it. Never in the agent."""

from __future__ import annotations

from agentry.identity.principal import Principal
from agentry.invocations.context import Delegation
from agentry.marketplace.service import Entitlements
from agentry.policy.engine import Request
from agentry.policy.service import PolicyService
from agentry.registry.routing import Route


class InvocationGate:
    def __init__(
        self, policies: PolicyService | None, entitlements: Entitlements | None = None
    ) -> None:
        self.policies = policies
        self.entitlements = entitlements

    async def admit(
        self, principal: Principal, route: Route, mode: str, parent: Delegation | None = None
    ) -> None:
        """Entitlement (marketplace), then policy: `InvokeAgent` for a tenant's call,
        `DelegateAgent` for an agent's."""
        if self.entitlements is not None:
            await self.entitlements.check(principal.tenant_id, route.agent_id, route.agent_name)
        if self.policies is None:
            return
        if parent is None:
            req = Request(
                principal.tenant_id,
                principal.tier,
                "InvokeAgent",
                route.agent_name,
                role=principal.role.value,
                mode=mode,
            )
            await self.policies.check(req, mode=mode)
            return
        req = Request(
            principal.tenant_id,
            principal.tier,
            "DelegateAgent",
            route.agent_name,
            role="agent",
            agent=parent.caller,
            depth=parent.depth,
            mode=mode,
        )
        await self.policies.check(req, mode=mode, parent_invocation_id=parent.parent_invocation_id)

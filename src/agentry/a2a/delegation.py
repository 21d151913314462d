"""An agent calls another agent through the platform, with its invocation token.

The platform, not the agent, decides: the token must carry the `agents` scope and name the
callee among the agents its manifest declares; the call chain (in the token) must not loop
back (A → B → A) nor go deeper than `max_depth`; the callee must be available to the tenant
(tier, and policy `DelegateAgent` then `InvokeAgent`-level checks in `InvocationService`).
The callee's invocation is a normal one of the same tenant (metered, recorded) whose row
names the parent and shares the trace id (the root call's request id). Every delegation,
refused or not, is audited against the parent invocation; a refused one runs nothing and
bills nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agentry.agent_auth.claims import InvocationClaims
from agentry.audit.service import AuditLog, Outcome
from agentry.identity.principal import Principal, Role, Scope
from agentry.invocations.context import Delegation, delegation_var
from agentry.kit.errors import AgentryError, Conflict, Forbidden
from agentry.models.tenant import TenantStatus
from agentry.tenants.repository import TenantRepository

AGENTS_SCOPE = "agents"
T = TypeVar("T")


class MissingAgentsScope(Forbidden):
    code = "insufficient_scope"
    title = "The invocation token lacks the 'agents' scope"


class DelegationNotDeclared(Forbidden):
    code = "delegation_not_declared"
    title = "The calling agent's manifest does not declare this agent"


class DelegationLoop(Conflict):
    code = "delegation_loop"
    title = "The call would loop back to an agent already in the chain"


class DelegationTooDeep(Conflict):
    code = "delegation_too_deep"
    title = "The call chain would be deeper than the platform allows"


class TenantSuspendedForAgents(Forbidden):
    code = "tenant_suspended"
    title = "The tenant is suspended"


class Delegator:
    def __init__(
        self,
        maker: async_sessionmaker[AsyncSession],
        audit: AuditLog | None,
        *,
        max_depth: int,
    ) -> None:
        self._maker = maker
        self._audit = audit
        self.max_depth = max_depth

    def check(self, claims: InvocationClaims, callee: str) -> Delegation:
        if AGENTS_SCOPE not in claims.scopes:
            raise MissingAgentsScope("This invocation may not call other agents.")
        chain = claims.chain or (claims.agent,)
        if callee in chain:
            path = " → ".join((*chain, callee))
            raise DelegationLoop(f"Delegation loop: {path}.", extra={"chain": [*chain, callee]})
        if len(chain) > self.max_depth:
            raise DelegationTooDeep(
                f"Agent '{callee}' would run {len(chain)} agents deep; the limit is "
                f"{self.max_depth}.",
                extra={"chain": list(chain), "max_depth": self.max_depth},
            )
        if callee not in claims.agents:
            raise DelegationNotDeclared(
                f"Agent '{claims.agent}' does not declare '{callee}' in its manifest `agents`."
            )
        return Delegation(
            parent_invocation_id=claims.invocation_id,
            caller=claims.agent,
            chain=chain,
            trace_id=claims.trace_id or claims.invocation_id,
        )

    async def principal(self, claims: InvocationClaims) -> Principal:
        """The tenant the calling agent works for, as an invoking principal."""
        async with self._maker() as session:
            tenant = await TenantRepository(session).get(claims.tenant_id)
        if tenant is None or tenant.status != TenantStatus.active.value:
            raise TenantSuspendedForAgents("The tenant may not invoke agents.")
        return Principal(
            tenant_id=tenant.id,
            tenant_slug=tenant.slug,
            tier=claims.tier,
            role=Role.member,
            scopes=frozenset({Scope.invoke}),
            subject=f"agent:{claims.agent}",
        )

    async def run(
        self,
        claims: InvocationClaims,
        callee: str,
        mode: str,
        call: Callable[[Principal, Delegation], Awaitable[T]],
    ) -> T:
        """Check, then `call` with the delegation in context; audit either way."""
        try:
            delegation = self.check(claims, callee)
            principal = await self.principal(claims)
            token = delegation_var.set(delegation)
            try:
                result = await call(principal, delegation)
            finally:
                delegation_var.reset(token)
        except AgentryError as exc:
            await self._record(claims, callee, mode, exc)
            raise
        await self._record(claims, callee, mode, None)
        return result

    async def _record(
        self, claims: InvocationClaims, callee: str, mode: str, error: AgentryError | None
    ) -> None:
        if self._audit is None:
            return
        await self._audit.append_now(
            actor=f"agent:{claims.agent}",
            action="agent.delegate",
            outcome=Outcome.success if error is None else Outcome.denied,
            actor_tenant_id=claims.tenant_id,
            target_tenant_id=claims.tenant_id,
            details={
                "parent_invocation_id": claims.invocation_id,
                "callee": callee,
                "mode": mode,
                "chain": list(claims.chain or (claims.agent,)),
                "trace_id": claims.trace_id,
                "code": error.code if error else None,
                "child_invocation_id": (error.extra.get("invocation_id") if error else None),
            },
        )

"""Build the tool gateway and model gateway of one API process, on the platform's parts.

The invocation tokens are the ones `agent_auth.tokens.TokenSigner` signs; decisions go to the
audit log; tokens and tool calls go to the usage table, priced by the tenant's tier.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agentry.agent_auth.claims import InvocationClaims
from agentry.agent_auth.tokens import TokenVerifier
from agentry.audit.service import AuditLog, Outcome
from agentry.config import Settings
from agentry.gateway.access import ToolAccess
from agentry.gateway.aws_targets import AgentCoreTargets
from agentry.gateway.factory import GatewayConfig, build_chain
from agentry.gateway.interceptors import AuditRecord
from agentry.gateway.mcp_app import McpGateway
from agentry.gateway.policy import TierPolicy
from agentry.gateway.targets import ToolTargets
from agentry.gateway.tools import ToolCatalog, builtin_catalog
from agentry.kit.clock import utcnow
from agentry.kit.db.engine import session_scope
from agentry.llm.providers.base import Provider
from agentry.llm.providers.bedrock import BedrockProvider
from agentry.llm.providers.local import LocalProvider
from agentry.llm.service import ModelGateway, TierModel, UsageRecord
from agentry.metering.budgets import InvocationBudgets, Spent
from agentry.metering.repository import UsageRepository
from agentry.metering.service import Pricing, record_usage, usage_row
from agentry.policy.engine import Request as CedarRequest
from agentry.policy.service import PolicyService
from agentry.registry.repository import AgentRepository
from agentry.webhooks.secretbox import SecretBox


@dataclass
class Gateways:
    verifier: TokenVerifier
    access: ToolAccess
    mcp: McpGateway
    models: ModelGateway


TOKEN_KINDS = ("input_tokens", "output_tokens")
TOOL_CALL = "tool_call"


class UsageMeter:
    """Writes usage events (exactly once per idempotency key), priced by the tier, and reads
    back what an invocation has recorded (its budgets' starting point)."""

    def __init__(self, maker: async_sessionmaker[AsyncSession], prices: Pricing) -> None:
        self._maker = maker
        self._prices = prices
        self._agent_ids: dict[str, str] = {}

    async def _agent_id(self, session: AsyncSession, name: str) -> str:
        if name not in self._agent_ids:
            agent = await AgentRepository(session).get_by_name(name)
            self._agent_ids[name] = agent.id if agent else name
        return self._agent_ids[name]

    async def record(
        self,
        claims: InvocationClaims,
        events: Sequence[tuple[str, int, str]],
        model: str | None = None,
    ) -> bool:
        """`(kind, quantity, key)` events in one transaction; True when they were new."""
        async with session_scope(self._maker) as session:
            agent_id = await self._agent_id(session, claims.agent)
            now = utcnow()
            new = [
                await record_usage(
                    session,
                    usage_row(
                        tenant_id=claims.tenant_id,
                        agent_id=agent_id,
                        version_number=claims.version,
                        invocation_id=claims.invocation_id,
                        kind=kind,
                        quantity=quantity,
                        idempotency_key=key,
                        model=model,
                        price=self._prices.price(claims.tier, kind, model=model, at=now),
                        at=now,
                    ),
                )
                for kind, quantity, key in events
            ]
        return any(new)

    async def tokens(self, record: UsageRecord) -> bool:
        quantities = zip(TOKEN_KINDS, (record.input_tokens, record.output_tokens), strict=True)
        return await self.record(
            record.claims,
            [(kind, n, f"{record.idempotency_key}:{kind}") for kind, n in quantities],
            record.model,
        )

    async def tool_call(self, claims: InvocationClaims, key: str) -> bool:
        return await self.record(claims, [(TOOL_CALL, 1, key)])

    async def spent(self, tenant_id: str, invocation_id: str) -> Spent:
        async with self._maker() as session:
            rows = await UsageRepository(session, tenant_id).recorded_for(
                invocation_id, (*TOKEN_KINDS, TOOL_CALL)
            )
        spent = Spent()
        for kind, quantity, key in rows:
            if kind == TOOL_CALL:
                spent.add(key, tool_calls=quantity)
            else:  # a completion's two rows share the key of its request
                spent.add(key.rpartition(":")[0], tokens=quantity)
        return spent


def build_targets(settings: Settings, catalog: ToolCatalog) -> ToolTargets:
    """External MCP targets; stored ones are loaded by the first `ToolAccess.refresh`."""
    aws = None
    if settings.profile == "aws" and settings.gateway_id:
        aws = AgentCoreTargets(settings.gateway_id, region=settings.aws_region)
    return ToolTargets(settings, catalog, SecretBox(settings), aws=aws)


def build_gateways(
    settings: Settings,
    maker: async_sessionmaker[AsyncSession],
    verifier: TokenVerifier,
    audit: AuditLog,
    prices: Pricing,
    policies: PolicyService | None = None,
) -> Gateways:
    catalog = builtin_catalog()
    policy = TierPolicy.load(catalog.default_grants())
    meter = UsageMeter(maker, prices)
    budgets = InvocationBudgets(meter.spent)

    async def tool_decision(record: AuditRecord) -> None:
        if record.method != "tools/call":
            return
        await audit.append_now(
            actor=f"agent:{record.agent or 'unknown'}",
            action="tool.call",
            outcome=Outcome.success if record.outcome == "allowed" else Outcome.denied,
            actor_tenant_id=record.tenant_id,
            target_tenant_id=record.tenant_id,
            details={
                "tool": record.tool,
                "invocation_id": record.invocation_id,
                "reason": record.reason,
            },
        )

    config = GatewayConfig(
        tool_calls_per_minute=settings.tool_calls_per_minute,
        pii_tiers=frozenset(settings.pii_redaction_tiers),
        tool_calls_per_invocation=settings.tool_calls_per_invocation,
    )
    chain = build_chain(
        config,
        verifier,
        policy,
        catalog,
        tool_decision,
        meter=meter.tool_call,
        budgets=budgets,
        cedar=policies.engine if policies is not None else None,
    )

    async def model_policy(claims: InvocationClaims, model: str) -> None:
        if policies is not None:
            await policies.check(
                CedarRequest(
                    claims.tenant_id,
                    claims.tier,
                    "UseModel",
                    model,
                    role="agent",
                    agent=claims.agent,
                    depth=claims.depth,
                    mode="",
                ),
                invocation_id=claims.invocation_id,
            )

    async def denied(claims: InvocationClaims, reason: str) -> None:
        await audit.append_now(
            actor=f"agent:{claims.agent}",
            action="model.budget_exceeded",
            outcome=Outcome.denied,
            actor_tenant_id=claims.tenant_id,
            target_tenant_id=claims.tenant_id,
            details={"invocation_id": claims.invocation_id, "reason": reason},
        )

    routes = {
        tier: TierModel(r["provider"], r["model"], int(r["max_tokens"]))
        for tier, r in settings.model_routes.items()
    }
    providers: dict[str, Provider] = {"local": LocalProvider()}
    if any(r.provider == "bedrock" for r in routes.values()):
        providers["bedrock"] = BedrockProvider(region=settings.aws_region)
    models = ModelGateway(
        routes,
        providers,
        usage=meter.tokens,
        denied=denied,
        budgets=budgets,
        policy=model_policy if policies is not None else None,
    )
    return Gateways(
        verifier=verifier,
        access=ToolAccess(maker, catalog, policy, build_targets(settings, catalog)),
        mcp=McpGateway(chain, catalog),
        models=models,
    )

"""Assemble the interceptor chain in the order the platform runs it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from limits.aio.storage import Storage

from agentry.agent_auth.tokens import TokenVerifier
from agentry.gateway.chain import InterceptorChain
from agentry.gateway.interceptors import (
    ArgumentValidation,
    AuditDecision,
    AuditSink,
    PiiRedaction,
    TierPolicyCheck,
    TokenCheck,
    ToolCallBudget,
    ToolCallMetering,
    ToolCallSink,
    ToolRateLimit,
    ToolsListFilter,
    VerifiedClaims,
)
from agentry.gateway.policy import TierPolicy
from agentry.gateway.tools import ToolCatalog
from agentry.metering.budgets import InvocationBudgets
from agentry.policy.engine import PolicyEngine


@dataclass(frozen=True)
class GatewayConfig:
    tool_calls_per_minute: Mapping[str, int] = field(
        default_factory=lambda: {"basic": 60, "standard": 300, "premium": 1200}
    )
    pii_tiers: frozenset[str] = frozenset({"basic", "standard"})
    tool_calls_per_invocation: Mapping[str, int] = field(
        default_factory=lambda: {"basic": 20, "standard": 50, "premium": 200}
    )


def build_chain(
    config: GatewayConfig,
    verifier: TokenVerifier,
    policy: TierPolicy,
    catalog: ToolCatalog,
    audit: AuditSink,
    rate_storage: Storage | None = None,
    *,
    meter: ToolCallSink | None = None,
    budgets: InvocationBudgets | None = None,
    cedar: PolicyEngine | None = None,
) -> InterceptorChain:
    claims = VerifiedClaims(verifier)
    metering = [ToolCallMetering(claims, meter, budgets)] if meter is not None else []
    budget = (
        [ToolCallBudget(claims, budgets, config.tool_calls_per_invocation)]
        if budgets is not None
        else []
    )
    return InterceptorChain(
        request=[
            TokenCheck(claims),
            TierPolicyCheck(claims, policy, cedar),
            ArgumentValidation(catalog),
            *budget,
            ToolRateLimit(claims, config.tool_calls_per_minute, rate_storage),
        ],
        response=[
            PiiRedaction(claims, config.pii_tiers),
            ToolsListFilter(claims, policy, cedar),
            *metering,
            AuditDecision(claims, audit),
        ],
    )

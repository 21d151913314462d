"""The same interceptor chain as an AgentCore Gateway interceptor Lambda.

AgentCore Gateway allows one REQUEST and one RESPONSE interceptor; point both at this handler.
It tells them apart by `mcp.gatewayResponse` and folds the platform's request or response
interceptors, exactly as the in-process gateway does. Configuration comes from environment
variables (set by the CDK stack):
- AGENTRY_OIDC_DISCOVERY_URL: `<issuer>/.well-known/openid-configuration` of the platform (the
  same URL the gateway's customJWTAuthorizer uses); issuer and JWKS come from it. Or, without
  it, AGENTRY_TOKEN_ISSUER and AGENTRY_JWKS_URL.
- AGENTRY_TOKEN_AUDIENCE (default `agentry-agent`), AGENTRY_TOOL_GRANTS (JSON: tool -> tiers),
  AGENTRY_PII_TIERS (comma-separated).
- AGENTRY_DATABASE_URL (the platform's Aurora, from the Lambda's VPC): with it the chain also
  runs the per-invocation tool-call budget (AGENTRY_TOOL_CALLS_PER_INVOCATION, JSON tier ->
  calls) and meters every executed tools/call into the usage table, priced from the price
  book, exactly once per call, as the in-process gateway does. Without it both are skipped.
Audit records go to stdout as JSON lines (CloudWatch Logs). Ended invocations are not known
here: in AWS a token stays usable at the gateway until it expires.

One event loop lives as long as the Lambda's execution environment, so the database pool and
the budgets' cache are reused across invocations (asyncio.run per call would discard them).
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Coroutine, Mapping
from dataclasses import asdict
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from agentry.agent_auth.tokens import AUDIENCE, TokenVerifier
from agentry.gateway.chain import InterceptorChain
from agentry.gateway.events import Event
from agentry.gateway.factory import GatewayConfig, build_chain
from agentry.gateway.interceptors import AuditRecord
from agentry.gateway.policy import TierPolicy
from agentry.gateway.tools import builtin_catalog

if TYPE_CHECKING:
    from agentry.billing.prices import PriceBookCache
    from agentry.metering.service import Price

T = TypeVar("T")
_chain: InterceptorChain | None = None
_loop: asyncio.AbstractEventLoop | None = None
PRICE_REFRESH_S = 60.0


async def _log_audit(record: AuditRecord) -> None:
    print(json.dumps({"event": "gateway.decision", **asdict(record)}), flush=True)  # noqa: T201


def use_chain(chain: InterceptorChain | None) -> None:
    """Install a chain (tests, or a custom build); None: build one from the environment."""
    global _chain
    _chain = chain


def _verifier(env: Mapping[str, str]) -> TokenVerifier:
    audience = env.get("AGENTRY_TOKEN_AUDIENCE", AUDIENCE)
    discovery = env.get("AGENTRY_OIDC_DISCOVERY_URL")
    if discovery:
        return TokenVerifier.from_discovery(discovery, audience=audience)
    return TokenVerifier(
        issuer=env["AGENTRY_TOKEN_ISSUER"], audience=audience, jwks_url=env["AGENTRY_JWKS_URL"]
    )


async def chain_from_environment(
    env: Mapping[str, str], verifier: TokenVerifier | None = None
) -> InterceptorChain:
    """The chain this Lambda runs, configured from `env` (see the module docstring)."""
    catalog = builtin_catalog()
    grants = json.loads(env.get("AGENTRY_TOOL_GRANTS", "null")) or catalog.default_grants()
    pii = frozenset(filter(None, env.get("AGENTRY_PII_TIERS", "basic,standard").split(",")))
    defaults = GatewayConfig()
    config = GatewayConfig(
        pii_tiers=pii,
        tool_calls_per_invocation=json.loads(env.get("AGENTRY_TOOL_CALLS_PER_INVOCATION", "null"))
        or defaults.tool_calls_per_invocation,
    )
    meter = budgets = None
    url = env.get("AGENTRY_DATABASE_URL")
    if url:
        from agentry.billing.prices import PriceBook, PriceBookCache
        from agentry.config import default_price_book
        from agentry.gateway.wiring import UsageMeter
        from agentry.kit.db.engine import create_engine, create_sessionmaker
        from agentry.metering.budgets import InvocationBudgets

        maker = create_sessionmaker(create_engine(url))
        currency = env.get("AGENTRY_BILLING_CURRENCY", "USD")
        prices = PriceBookCache(
            maker, currency, PriceBook.from_mapping(default_price_book(), currency)
        )
        await prices.refresh()
        usage = UsageMeter(maker, _Refreshing(prices))
        meter, budgets = usage.tool_call, InvocationBudgets(usage.spent)
    return build_chain(
        config,
        verifier or _verifier(env),
        TierPolicy.load(grants),
        catalog,
        _log_audit,
        meter=meter,
        budgets=budgets,
    )


class _Refreshing:
    """The price book, reloaded at most every PRICE_REFRESH_S (no poller in a Lambda)."""

    def __init__(self, cache: PriceBookCache) -> None:
        self._cache = cache
        self._loaded = time.monotonic()
        self._refreshing: set[asyncio.Task[object]] = set()

    def price(
        self, tier: str, kind: str, *, model: str | None = None, at: datetime | None = None
    ) -> Price:
        if time.monotonic() - self._loaded > PRICE_REFRESH_S:
            self._loaded = time.monotonic()
            task: asyncio.Task[object] = asyncio.get_running_loop().create_task(
                self._cache.refresh()
            )
            self._refreshing.add(task)
            task.add_done_callback(self._refreshing.discard)
        return self._cache.price(tier, kind, model=model, at=at)


def _run(coro: Coroutine[Any, Any, T]) -> T:
    global _loop
    if _loop is None or _loop.is_closed():
        _loop = asyncio.new_event_loop()
    return _loop.run_until_complete(coro)


def handler(event: Event, _context: Any = None) -> Event:
    global _chain
    if _chain is None:
        _chain = _run(chain_from_environment(os.environ))
    if "gatewayResponse" in event.get("mcp", {}):
        return _run(_chain.on_response(event))
    return _run(_chain.on_request(event))

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
Audit records go to stdout as JSON lines (CloudWatch Logs). Ended invocations are not known
here (no database): in AWS a token stays usable at the gateway until it expires.
"""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import asdict
from typing import Any

from agentry.agent_auth.tokens import AUDIENCE, TokenVerifier
from agentry.gateway.chain import InterceptorChain
from agentry.gateway.events import Event
from agentry.gateway.factory import GatewayConfig, build_chain
from agentry.gateway.interceptors import AuditRecord
from agentry.gateway.policy import TierPolicy
from agentry.gateway.tools import builtin_catalog

_chain: InterceptorChain | None = None


async def _log_audit(record: AuditRecord) -> None:
    print(json.dumps({"event": "gateway.decision", **asdict(record)}), flush=True)  # noqa: T201


def use_chain(chain: InterceptorChain | None) -> None:
    """Install a chain (tests, or a custom build); None: build one from the environment."""
    global _chain
    _chain = chain


def _from_environment() -> InterceptorChain:
    catalog = builtin_catalog()
    grants = json.loads(os.environ.get("AGENTRY_TOOL_GRANTS", "null")) or catalog.default_grants()
    audience = os.environ.get("AGENTRY_TOKEN_AUDIENCE", AUDIENCE)
    discovery = os.environ.get("AGENTRY_OIDC_DISCOVERY_URL")
    verifier = (
        TokenVerifier.from_discovery(discovery, audience=audience)
        if discovery
        else TokenVerifier(
            issuer=os.environ["AGENTRY_TOKEN_ISSUER"],
            audience=audience,
            jwks_url=os.environ["AGENTRY_JWKS_URL"],
        )
    )
    pii = frozenset(filter(None, os.environ.get("AGENTRY_PII_TIERS", "basic,standard").split(",")))
    return build_chain(
        GatewayConfig(pii_tiers=pii), verifier, TierPolicy.load(grants), catalog, _log_audit
    )


def handler(event: Event, _context: Any = None) -> Event:
    global _chain
    if _chain is None:
        _chain = _from_environment()
    if "gatewayResponse" in event.get("mcp", {}):
        return asyncio.run(_chain.on_response(event))
    return asyncio.run(_chain.on_request(event))

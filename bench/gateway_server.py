"""Serve the built-in tools over MCP for bench/gateway_overhead.py, with or without the chain.

python bench/gateway_server.py PORT chain|direct KEYFILE
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import uvicorn
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.types import Receive, Scope, Send

from agentry.agent_auth.claims import InvocationClaims
from agentry.agent_auth.tokens import TokenVerifier
from agentry.gateway.chain import InterceptorChain
from agentry.gateway.factory import GatewayConfig, build_chain
from agentry.gateway.interceptors import AuditRecord
from agentry.gateway.mcp_app import McpGateway
from agentry.gateway.policy import TierPolicy
from agentry.gateway.tools import builtin_catalog
from agentry.metering.budgets import InvocationBudgets


async def _audit(record: AuditRecord) -> None:
    _ = record  # the in-process audit sink's cost is what is measured; storage is not


async def _meter(claims: InvocationClaims, key: str) -> bool:
    _ = claims, key  # likewise: the metering interceptor runs, the usage write is not measured
    return True


def main() -> None:
    port, mode, keyfile = int(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
    key = load_pem_private_key(keyfile.read_bytes(), password=None)
    verifier = TokenVerifier(
        issuer="http://bench", audience="agentry-gateway", keys={"k1": key.public_key()}
    )
    catalog = builtin_catalog()
    config = GatewayConfig(
        tool_calls_per_minute={"premium": 10**9}, tool_calls_per_invocation={"premium": 10**9}
    )
    policy = TierPolicy.load(catalog.default_grants())
    chain = (
        build_chain(
            config, verifier, policy, catalog, _audit, meter=_meter, budgets=InvocationBudgets()
        )
        if mode == "chain"
        else InterceptorChain([], [])
    )
    gateway = McpGateway(chain, catalog)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        async with gateway.running():
            yield

    async def direct(scope: Scope, receive: Receive, send: Send) -> None:
        await gateway.manager.handle_request(scope, receive, send)

    app = Starlette(
        routes=[Mount("/mcp", app=gateway if mode == "chain" else direct)], lifespan=lifespan
    )
    uvicorn.run(app, port=port, log_level="warning")


if __name__ == "__main__":
    main()

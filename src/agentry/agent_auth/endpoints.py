"""Invocation tokens: short-lived RS256 JWTs the platform gives an agent for one invocation.

The issuer's OIDC metadata and keys are public, so AgentCore Gateway (`customJWTAuthorizer`
with `discoveryUrl = <issuer>/.well-known/openid-configuration`) checks the same tokens.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from agentry.agent_auth.tokens import DISCOVERY_PATH, JWKS_PATH, TokenSigner

router = APIRouter(tags=["agent-auth"])


def _signer(request: Request) -> TokenSigner:
    signer: TokenSigner = request.app.state.token_signer
    return signer


@router.get(JWKS_PATH, summary="Public keys that verify invocation tokens")
async def jwks(request: Request) -> dict[str, Any]:
    return _signer(request).jwks()


@router.get(DISCOVERY_PATH, summary="OIDC metadata of the invocation-token issuer")
async def openid_configuration(request: Request) -> dict[str, Any]:
    return _signer(request).discovery()

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from agentry.agent_auth.tokens import TokenSigner

router = APIRouter(tags=["agent-auth"])


@router.get("/.well-known/jwks.json", summary="Public keys that verify invocation tokens")
async def jwks(request: Request) -> dict[str, Any]:
    signer: TokenSigner = request.app.state.token_signer
    return signer.jwks()

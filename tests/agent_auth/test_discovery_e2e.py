"""The invocation-token issuer over real HTTP: OIDC discovery as AgentCore reads it, the
interceptor Lambda configured from it, and tokens refused once their invocation ends."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest

from agentry.agent_auth.tokens import DISCOVERY_PATH, TokenVerifier
from agentry.gateway import events, lambda_handler
from agentry.testing.stack import Stack
from tests.factories import agent_token, stack_signer
from tests.jobs.support import wait_job

pytestmark = pytest.mark.e2e


def _tenant_id(stack: Stack) -> str:
    with stack.client(stack.acme_key) as c:
        tenant: str = c.get("/v1/me").json()["tenant_id"]
    return tenant


def _token(stack: Stack, invocation_id: str, tier: str = "premium") -> str:
    signer = stack_signer(stack)
    return agent_token(signer, tenant_id=_tenant_id(stack), tier=tier, invocation_id=invocation_id)


def _chat(stack: Stack, token: str) -> httpx.Response:
    return httpx.post(
        f"{stack.url}/agent/v1/chat/completions",
        json={"messages": [{"role": "user", "content": "hello"}]},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )


def test_discovery_document_lets_a_relying_party_verify_tokens(stack: Stack) -> None:
    doc = httpx.get(stack.url + DISCOVERY_PATH, timeout=10).json()
    assert doc["issuer"] == stack.url
    assert doc["jwks_uri"] == f"{stack.url}/.well-known/jwks.json"
    verifier = TokenVerifier.from_discovery(stack.url + DISCOVERY_PATH)
    claims = verifier.verify(_token(stack, "inv_discovery"))
    assert (claims.tenant_id, claims.invocation_id) == (_tenant_id(stack), "inv_discovery")
    with pytest.raises(ValueError, match="issuer"):
        TokenVerifier.from_discovery(stack.url + DISCOVERY_PATH, issuer="https://other.test")


def test_interceptor_lambda_configured_from_discovery(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENTRY_OIDC_DISCOVERY_URL", stack.url + DISCOVERY_PATH)
    monkeypatch.delenv("AGENTRY_TOOL_GRANTS", raising=False)
    lambda_handler.use_chain(None)
    try:
        body: dict[str, Any] = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
        listed = {
            "jsonrpc": "2.0",
            "id": 1,
            "result": {"tools": [{"name": "utility___now"}, {"name": "insights___forecast"}]},
        }
        for tier, expected in (("basic", ["utility___now"]), ("premium", None)):
            headers = {"Authorization": f"Bearer {_token(stack, 'inv_l', tier)}"}
            request = events.request_event(headers, body, json.dumps(body))
            assert lambda_handler.handler(request)["mcp"]["transformedGatewayRequest"]["body"]
            out = lambda_handler.handler(events.response_event(request, 200, listed))
            names = [
                t["name"]
                for t in out["mcp"]["transformedGatewayResponse"]["body"]["result"]["tools"]
            ]
            assert names == (expected or ["utility___now", "insights___forecast"])
        forged = _token(stack, "inv_l") + "x"
        request = events.request_event({"Authorization": f"Bearer {forged}"}, body, "")
        denied = lambda_handler.handler(request)["mcp"]["transformedGatewayResponse"]
        assert denied["statusCode"] == 401
    finally:
        lambda_handler.use_chain(None)


def test_tokens_of_a_finished_sync_invocation_or_job_are_refused(stack: Stack) -> None:
    assert _chat(stack, _token(stack, "inv_not_ended")).status_code == 200
    with stack.client(stack.acme_key) as c:
        r = c.post("/v1/agents/concierge/invoke", json={"input": {"prompt": "hello"}})
        assert r.status_code == 200, r.text
        invocation_id = r.json()["invocation_id"]
        refused = _chat(stack, _token(stack, invocation_id))
        assert refused.status_code == 401
        assert refused.json()["code"] == "invocation_ended"
        job = c.post("/v1/agents/echo/jobs", json={"input": {"prompt": "hi"}}).json()
        assert wait_job(c, job["id"])["status"] == "succeeded"
    deadline = time.monotonic() + 10  # the worker ends it in the database; the API polls
    while _chat(stack, _token(stack, job["id"])).status_code != 401:
        assert time.monotonic() < deadline, "a finished job's token still works"
        time.sleep(0.2)
    mcp = httpx.post(
        f"{stack.url}/agent/mcp/",
        json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
        headers={
            "Authorization": f"Bearer {_token(stack, invocation_id)}",
            "Accept": "application/json, text/event-stream",
        },
        timeout=30,
    )
    assert mcp.status_code == 401
    assert mcp.json()["error"]["data"]["code"] == "invocation_ended"

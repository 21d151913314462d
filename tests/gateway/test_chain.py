"""The interceptor chain in the AgentCore Gateway event format (v1.0), in-process."""

from __future__ import annotations

import json
from typing import Any

from agentry.gateway import events
from agentry.gateway.chain import InterceptorChain
from agentry.gateway.events import Event
from agentry.gateway.interceptors import AuditRecord
from agentry.gateway.target import CatalogTarget
from tests.gateway.conftest import TokenFactory


def _rpc(method: str, params: dict[str, Any] | None = None) -> bytes:
    return json.dumps(
        {"jsonrpc": "2.0", "id": 7, "method": method, "params": params or {}}
    ).encode()


def _call(name: str, arguments: dict[str, Any]) -> bytes:
    return _rpc("tools/call", {"name": name, "arguments": arguments})


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_tools_list_differs_between_basic_and_premium(
    chain: InterceptorChain, target: CatalogTarget, make_token: TokenFactory
) -> None:
    _, basic, _ = await chain.run(_auth(make_token("basic")), _rpc("tools/list"), target)
    _, premium, _ = await chain.run(_auth(make_token("premium")), _rpc("tools/list"), target)
    basic_names = {t["name"] for t in basic["result"]["tools"]}
    premium_names = {t["name"] for t in premium["result"]["tools"]}
    assert basic_names == {"utility___now", "utility___calculate"}
    assert premium_names == basic_names | {"insights___forecast"}


async def test_basic_tenant_is_denied_the_premium_tool_and_it_is_audited(
    chain: InterceptorChain,
    target: CatalogTarget,
    make_token: TokenFactory,
    audit: list[AuditRecord],
) -> None:
    status, body, _ = await chain.run(
        _auth(make_token("basic", tenant="ten_basic")),
        _call("insights___forecast", {"series": [1, 2]}),
        target,
    )
    assert status == 200
    assert body["id"] == 7
    assert body["error"]["data"]["code"] == "tool_denied"
    assert "premium" in body["error"]["data"]["reason"]
    assert target.calls == 0
    assert audit[-1].outcome == "denied"
    assert audit[-1].tool == "insights___forecast"
    assert audit[-1].tenant_id == "ten_basic"


async def test_premium_tenant_gets_the_forecast(
    chain: InterceptorChain,
    target: CatalogTarget,
    make_token: TokenFactory,
    audit: list[AuditRecord],
) -> None:
    status, body, _ = await chain.run(
        _auth(make_token("premium")),
        _call("insights___forecast", {"series": [1, 2, 3], "horizon": 2}),
        target,
    )
    assert status == 200
    assert body["result"]["structuredContent"]["forecast"] == [4.0, 5.0]
    assert audit[-1].outcome == "allowed"


async def test_arguments_not_matching_the_schema_never_reach_the_tool(
    chain: InterceptorChain, target: CatalogTarget, make_token: TokenFactory
) -> None:
    _, body, _ = await chain.run(
        _auth(make_token("premium")), _call("utility___calculate", {"expr": "1+1"}), target
    )
    assert body["error"]["code"] == -32602
    assert body["error"]["data"]["code"] == "invalid_arguments"
    assert "expression" in body["error"]["data"]["reason"]
    assert target.calls == 0


async def test_unknown_tool_is_an_error(
    chain: InterceptorChain, target: CatalogTarget, make_token: TokenFactory
) -> None:
    _, body, _ = await chain.run(_auth(make_token("premium")), _call("nope___x", {}), target)
    assert body["error"]["code"] == -32602
    assert body["error"]["data"]["code"] == "unknown_tool"


async def test_malformed_message_is_a_parse_error(
    chain: InterceptorChain, target: CatalogTarget
) -> None:
    status, body, _ = await chain.run({}, b"{not json", target)
    assert status == 400
    assert body["error"]["code"] == -32700
    status, body, _ = await chain.run({}, b'{"jsonrpc": "1.0"}', target)
    assert body["error"]["code"] == -32600


async def test_missing_expired_or_foreign_token_is_401(
    chain: InterceptorChain, target: CatalogTarget, make_token: TokenFactory
) -> None:
    from cryptography.hazmat.primitives.asymmetric import rsa

    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    import jwt

    forged = jwt.encode(
        jwt.decode(make_token("premium"), options={"verify_signature": False}),
        other_key,
        algorithm="RS256",
        headers={"kid": "k1"},
    )
    for headers in ({}, _auth(make_token("premium", ttl=-120)), _auth(forged), _auth("garbage")):
        status, body, _ = await chain.run(headers, _rpc("tools/list"), target)
        assert status == 401, headers
        assert body["error"]["data"]["code"] == "invalid_token"


async def test_token_without_tools_scope_is_403(
    chain: InterceptorChain, target: CatalogTarget, make_token: TokenFactory
) -> None:
    status, body, _ = await chain.run(
        _auth(make_token("premium", scope="model")), _rpc("tools/list"), target
    )
    assert status == 403
    assert body["error"]["data"]["code"] == "insufficient_scope"


async def test_rate_limit_per_tenant_and_tool(
    chain: InterceptorChain, target: CatalogTarget, make_token: TokenFactory
) -> None:
    token = make_token("basic", tenant="ten_rl")
    results = [
        (await chain.run(_auth(token), _call("utility___now", {}), target))[1] for _ in range(4)
    ]
    assert all("result" in r for r in results[:3])
    assert results[3]["error"]["data"]["code"] == "rate_limited"
    assert results[3]["error"]["data"]["retry_after_s"] >= 1
    other = make_token("basic", tenant="ten_other")
    assert "result" in (await chain.run(_auth(other), _call("utility___now", {}), target))[1]


async def test_pii_is_redacted_for_basic_not_premium(
    chain: InterceptorChain, make_token: TokenFactory
) -> None:
    async def leaky(body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        text = "mail ann@example.com or call +44 20 7946 0958"
        return 200, {
            "jsonrpc": "2.0",
            "id": body["id"],
            "result": {"content": [{"type": "text", "text": text}]},
        }

    _, basic, _ = await chain.run(_auth(make_token("basic")), _call("utility___now", {}), leaky)
    _, premium, _ = await chain.run(_auth(make_token("premium")), _call("utility___now", {}), leaky)
    assert basic["result"]["content"][0]["text"] == "mail [redacted:email] or call [redacted:phone]"
    assert "ann@example.com" in premium["result"]["content"][0]["text"]


async def test_a_request_interceptor_response_short_circuits_later_ones_and_the_target() -> None:
    seen: list[str] = []

    async def deny(_event: Event) -> Event:
        seen.append("deny")
        return events.respond(
            403, {"jsonrpc": "2.0", "id": 1, "error": {"code": -1, "message": "no"}}
        )

    async def later(_event: Event) -> Event:
        seen.append("later")
        return events.passthrough()

    async def rewrite_response(event: Event) -> Event:
        seen.append("response")
        assert event["mcp"]["gatewayResponse"]["statusCode"] == 403
        return events.passthrough()

    async def target(_body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        seen.append("target")
        return 200, {}

    chain = InterceptorChain([deny, later], [rewrite_response])
    status, body, _ = await chain.run({}, _rpc("tools/list"), target)
    assert status == 403
    assert body["error"]["message"] == "no"
    assert seen == ["deny", "response"]


async def test_a_request_rewrite_reaches_the_target_and_response_rewrites_apply() -> None:
    async def add_arg(event: Event) -> Event:
        body = dict(event["mcp"]["gatewayRequest"]["body"])
        body["params"] = {**body["params"], "injected": True}
        return events.rewrite_request(body)

    async def tag(event: Event) -> Event:
        response = event["mcp"]["gatewayResponse"]
        return events.respond(
            response["statusCode"], {**response["body"], "tagged": True}, {"x-t": "1"}
        )

    async def target(body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        return 200, {"jsonrpc": "2.0", "id": body["id"], "result": {"params": body["params"]}}

    _, body, headers = await InterceptorChain([add_arg], [tag]).run({}, _rpc("x", {"a": 1}), target)
    assert body["result"]["params"] == {"a": 1, "injected": True}
    assert body["tagged"] is True
    assert headers == {"x-t": "1"}


async def test_a_token_is_refused_once_its_invocation_ends_even_when_cached(
    signing_key: Any, target: CatalogTarget, make_token: TokenFactory
) -> None:
    from agentry.agent_auth.tokens import TokenVerifier
    from agentry.gateway.factory import GatewayConfig, build_chain
    from agentry.gateway.policy import TierPolicy
    from agentry.gateway.tools import builtin_catalog
    from tests.gateway.conftest import AUDIENCE, ISSUER, KID

    ended: set[str] = set()
    verifier = TokenVerifier(
        issuer=ISSUER,
        audience=AUDIENCE,
        keys={KID: signing_key.public_key()},
        ended=ended.__contains__,
    )
    catalog = builtin_catalog()
    records: list[AuditRecord] = []

    async def sink(record: AuditRecord) -> None:
        records.append(record)

    chain = build_chain(
        GatewayConfig(), verifier, TierPolicy.load(catalog.default_grants()), catalog, sink
    )
    token = make_token("premium", invocation_id="inv_live")
    status, _, _ = await chain.run(_auth(token), _rpc("tools/list"), target)
    assert status == 200  # verified and cached
    ended.add("inv_live")
    status, body, _ = await chain.run(_auth(token), _call("utility___now", {}), target)
    assert status == 401
    assert body["error"]["data"]["code"] == "invocation_ended"
    assert target.calls == 0
    assert records[-1].outcome == "denied"

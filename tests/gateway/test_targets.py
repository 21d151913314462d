"""External MCP servers as tool targets: registered through the real API (SQLite and
PostgreSQL), called through `/agent/mcp` and the whole interceptor chain, against a real MCP
server on loopback."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from agentry.agent_auth.tokens import TokenSigner
from agentry.gateway.access import ToolAccess
from agentry.gateway.policy import TierPolicy
from agentry.gateway.tools import builtin_catalog
from agentry.gateway.wiring import build_targets
from agentry.identity.principal import Role
from agentry.models import AuditEvent, ToolTarget
from agentry.testing.inproc import InProcApp, running_app
from tests.factories import agent_token
from tests.gateway.mcp_remote import RemoteMcp, bad_names_server, directory_server

SECRET = "X-Api-Key: s3cr3t-value"
# Per test (cleared by the `app` fixture): tenants and operator key made in its database.
_TENANTS: dict[tuple[int, str], str] = {}
_OPERATORS: dict[int, str] = {}


@pytest.fixture(scope="module")
def remote() -> Iterator[RemoteMcp]:
    server = directory_server().start()
    yield server
    server.stop()


@pytest.fixture
async def app(database_url: str, tmp_path: Path, remote: RemoteMcp) -> AsyncIterator[InProcApp]:
    remote.calls.clear()
    remote.headers.clear()
    _TENANTS.clear()
    _OPERATORS.clear()
    async with running_app(
        database_url,
        tmp_path,
        auth_failure_limit="10000/minute",
        tool_target_allow_private=True,
        tool_target_timeout_s=3.0,
    ) as running:
        yield running


async def _operator(app: InProcApp) -> httpx.AsyncClient:
    if id(app) not in _OPERATORS:
        tenant = await app.tenant("platform-ops")
        _OPERATORS[id(app)] = (await app.key(tenant, Role.operator)).secret
    return app.client(_OPERATORS[id(app)])


async def _tenant_id(app: InProcApp, tier: str) -> str:
    key = (id(app), tier)
    if key not in _TENANTS:
        _TENANTS[key] = (await app.tenant(f"agents-{tier}", tier=tier)).id
    return _TENANTS[key]


async def _token(app: InProcApp, tier: str) -> str:
    signer: TokenSigner = app.app.state.token_signer
    tenant_id = await _tenant_id(app, tier)
    return agent_token(
        signer, tenant_id=tenant_id, tier=tier, invocation_id=f"inv_{tier}", session_id="s1",
        scopes=("tools",),
    )  # fmt: skip


async def _rpc(app: InProcApp, tier: str, method: str, params: dict[str, Any]) -> dict[str, Any]:
    async with app.client(await _token(app, tier)) as c:
        r = await c.post(
            "/agent/mcp/",
            json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params},
            headers={"Accept": "application/json, text/event-stream"},
        )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def _call(app: InProcApp, tier: str, tool: str, args: dict[str, Any]) -> dict[str, Any]:
    return await _rpc(app, tier, "tools/call", {"name": tool, "arguments": args})


async def _listed(app: InProcApp, tier: str) -> set[str]:
    return {t["name"] for t in (await _rpc(app, tier, "tools/list", {}))["result"]["tools"]}


async def _audit(app: InProcApp, prefix: str) -> list[AuditEvent]:
    async with app.platform.sessionmaker() as s:
        rows = await s.execute(select(AuditEvent).where(AuditEvent.action.startswith(prefix)))
        return list(rows.scalars())


async def test_register_call_grant_and_remove_an_external_target(
    app: InProcApp, remote: RemoteMcp
) -> None:
    async with await _operator(app) as op:
        r = await op.post(
            "/v1/admin/tool-targets", json={"name": "ext", "url": remote.url, "auth_header": SECRET}
        )
        assert r.status_code == 201, r.text
        created = r.json()
        assert {t["name"] for t in created["tools"]} == {"ext___whois", "ext___add"}
        assert all(t["tiers"] == ["premium"] for t in created["tools"])
        assert created["has_auth_header"] is True
        assert "s3cr3t" not in r.text
        assert remote.headers
        assert all(h.get("x-api-key") == "s3cr3t-value" for h in remote.headers)
        listed = (await op.get("/v1/admin/tool-targets")).json()["items"]
        assert [t["name"] for t in listed] == ["ext"]
        assert "s3cr3t" not in str(listed)

    # Stored sealed, never in clear.
    async with app.platform.sessionmaker() as s:
        row = await s.get(ToolTarget, "ext")
        assert row is not None
        assert row.auth_header_enc
        assert "s3cr3t" not in row.auth_header_enc

    # Premium sees and calls it; the remote's answer comes back untouched (no redaction).
    assert {"ext___whois", "ext___add"} <= await _listed(app, "premium")
    assert not {"ext___whois", "ext___add"} & await _listed(app, "basic")
    result = (await _call(app, "premium", "ext___whois", {"user": "ann"}))["result"]
    assert result["isError"] is False
    assert "ann@example.com" in result["content"][0]["text"]
    assert (await _call(app, "premium", "ext___add", {"a": 2, "b": 40}))["result"]["content"][0][
        "text"
    ] == "42"
    assert remote.calls == ["whois", "add"]

    # Bad arguments stop at the gateway: the remote sees nothing.
    bad = await _call(app, "premium", "ext___add", {"a": "two"})
    assert bad["error"]["code"] == -32602
    assert bad["error"]["data"]["code"] == "invalid_arguments"
    assert remote.calls == ["whois", "add"]

    # Basic is denied by the tier policy until an operator grants it; then PII is redacted.
    denied = await _call(app, "basic", "ext___whois", {"user": "bob"})
    assert denied["error"]["data"]["code"] == "tool_denied"
    async with await _operator(app) as op:
        r = await op.put("/v1/admin/tools/ext___whois", json={"tiers": ["basic", "premium"]})
        assert r.status_code == 200, r.text
    allowed = (await _call(app, "basic", "ext___whois", {"user": "bob"}))["result"]
    assert "[redacted:email]" in allowed["content"][0]["text"]
    assert "bob@example.com" not in str(allowed)

    # Removal: gone from the catalog at once.
    async with await _operator(app) as op:
        assert (await op.delete("/v1/admin/tool-targets/ext")).status_code == 204
        assert (await op.get("/v1/admin/tool-targets/ext")).json()[
            "code"
        ] == "tool_target_not_found"
        tools = {t["name"] for t in (await op.get("/v1/admin/tools")).json()}
    assert "ext___whois" not in tools
    assert "utility___now" in tools
    gone = await _call(app, "premium", "ext___whois", {"user": "ann"})
    assert gone["error"]["data"]["code"] == "unknown_tool"

    actions = [(e.action, e.details.get("target")) for e in await _audit(app, "tool_target.")]
    assert actions == [("tool_target.create", "ext"), ("tool_target.delete", "ext")]
    assert all("s3cr3t" not in str(e.details) for e in await _audit(app, "tool"))
    calls = [e for e in await _audit(app, "tool.call") if e.details["tool"] == "ext___whois"]
    assert {e.outcome for e in calls} == {"success", "denied"}


async def test_a_target_that_goes_down_gives_a_clean_error_fast(app: InProcApp) -> None:
    flaky = directory_server().start()
    async with await _operator(app) as op:
        r = await op.post("/v1/admin/tool-targets", json={"name": "flaky", "url": flaky.url})
        assert r.status_code == 201, r.text
    assert "result" in await _call(app, "premium", "flaky___whois", {"user": "a"})
    flaky.stop()
    started = time.perf_counter()
    down = await _call(app, "premium", "flaky___whois", {"user": "a"})
    assert time.perf_counter() - started < 3.0  # refused connections fail at once
    assert down["error"]["data"]["code"] == "tool_target_unavailable"
    async with await _operator(app) as op:
        r = await op.post("/v1/admin/tool-targets/flaky/refresh")
        assert r.status_code == 502
        assert r.json()["code"] == "tool_target_unreachable"
    # Back on the same port: the next call reconnects by itself.
    again = directory_server().start(flaky.port)
    try:
        assert "result" in await _call(app, "premium", "flaky___whois", {"user": "a"})
    finally:
        again.stop()


async def test_bad_registrations_are_refused_and_nothing_is_stored(
    app: InProcApp, remote: RemoteMcp
) -> None:
    bad_server = bad_names_server().start()
    closed = f"http://127.0.0.1:{bad_server.port + 1 if bad_server.port < 65535 else 1}/mcp"
    cases = [
        ({"name": "Ext", "url": remote.url}, 422, "invalid_tool_target_name"),
        ({"name": "a___b", "url": remote.url}, 422, "invalid_tool_target_name"),
        ({"name": "x" * 41, "url": remote.url}, 422, "invalid_tool_target_name"),
        ({"name": "utility", "url": remote.url}, 409, "tool_target_exists"),
        ({"name": "ext", "url": "ftp://example.com/mcp"}, 422, "invalid_tool_target_url"),
        ({"name": "ext", "url": "http://169.254.169.254/mcp"}, 422, "tool_target_url_refused"),
        ({"name": "ext", "url": remote.url, "tiers": ["gold"]}, 422, "unknown_tier"),
        ({"name": "ext", "url": remote.url, "auth_header": "nocolon"}, 422, "invalid_auth_header"),
        ({"name": "ext", "url": remote.url, "auth_header": "Host: x"}, 422, "invalid_auth_header"),
        ({"name": "ext", "url": closed}, 502, "tool_target_unreachable"),
        (
            {"name": "ext", "url": remote.url.replace("/mcp", "/nope")},
            502,
            "tool_target_unreachable",
        ),
        ({"name": "ext", "url": bad_server.url}, 502, "tool_target_invalid_tools"),
    ]
    try:
        async with await _operator(app) as op:
            for body, status, code in cases:
                r = await op.post("/v1/admin/tool-targets", json=body)
                assert (r.status_code, r.json().get("code")) == (status, code), (body, r.text)
                assert r.headers["content-type"].startswith("application/problem+json")
            assert (await op.get("/v1/admin/tool-targets")).json() == {"items": []}
            for method, path in [
                ("GET", "/v1/admin/tool-targets/nope"),
                ("DELETE", "/v1/admin/tool-targets/nope"),
                ("POST", "/v1/admin/tool-targets/nope/refresh"),
            ]:
                r = await op.request(method, path)
                assert (r.status_code, r.json()["code"]) == (404, "tool_target_not_found")
            # A duplicate name is a conflict; the same Idempotency-Key replays instead.
            first = {"name": "ext", "url": remote.url}
            key = {"Idempotency-Key": "reg-ext-1"}
            assert (
                await op.post("/v1/admin/tool-targets", json=first, headers=key)
            ).status_code == 201
            replay = await op.post("/v1/admin/tool-targets", json=first, headers=key)
            assert replay.status_code == 200
            assert replay.headers["Idempotent-Replayed"] == "true"
            other = await op.post(
                "/v1/admin/tool-targets", json={**first, "tiers": ["basic"]}, headers=key
            )
            assert other.json()["code"] == "idempotency_key_reused"
            dup = await op.post("/v1/admin/tool-targets", json=first)
            assert (dup.status_code, dup.json()["code"]) == (409, "tool_target_exists")
    finally:
        bad_server.stop()
    assert [e.action for e in await _audit(app, "tool_target.")] == ["tool_target.create"]

    tenant = await app.tenant("acme")
    for role in (Role.admin, Role.developer):
        async with app.client((await app.key(tenant, role)).secret) as c:
            for method, path in [
                ("GET", "/v1/admin/tool-targets"),
                ("POST", "/v1/admin/tool-targets"),
                ("DELETE", "/v1/admin/tool-targets/ext"),
            ]:
                r = await c.request(method, path, json={"name": "x", "url": remote.url})
                assert r.status_code == 403, (role, method, path, r.text)


async def test_refresh_picks_up_new_tools_and_other_replicas_follow(
    app: InProcApp, remote: RemoteMcp
) -> None:
    async with await _operator(app) as op:
        r = await op.post("/v1/admin/tool-targets", json={"name": "ext", "url": remote.url})
        assert r.status_code == 201, r.text

    # Another API replica: its own catalog and policy, same database.
    catalog = builtin_catalog()
    replica = ToolAccess(
        app.platform.sessionmaker,
        catalog,
        TierPolicy.load(catalog.default_grants()),
        build_targets(app.settings, catalog),
    )
    await replica.refresh()
    assert replica.catalog.get("ext___whois") is not None
    assert replica.policy.grants["ext___whois"] == frozenset({"premium"})

    @remote.server.tool(name="ping_later", description="Added after registration.")
    def ping_later() -> str:
        return "pong"

    try:
        async with await _operator(app) as op:
            r = await op.post("/v1/admin/tool-targets/ext/refresh")
            assert r.status_code == 200, r.text
            assert "ext___ping_later" in {t["name"] for t in r.json()["tools"]}
            assert (await op.put("/v1/admin/tools/ext___add", json={"tiers": ["basic"]})).is_success
        assert "ext___ping_later" in await _listed(app, "premium")
        await replica.refresh()
        assert replica.catalog.get("ext___ping_later") is not None
        assert replica.policy.grants["ext___add"] == frozenset({"basic"})
        result = await replica.catalog.call("ext___ping_later", {})
        assert result["content"][0]["text"] == "pong"

        async with await _operator(app) as op:
            assert (await op.delete("/v1/admin/tool-targets/ext")).status_code == 204
        await replica.refresh()
        assert replica.catalog.get("ext___whois") is None
        assert "ext___add" not in replica.policy.grants
    finally:
        remote.server.remove_tool("ping_later")
        await replica.stop()
    assert [e.action for e in await _audit(app, "tool_target.")] == [
        "tool_target.create",
        "tool_target.refresh",
        "tool_target.delete",
    ]

"""The interceptors the platform ships. Each takes and returns a v1.0 interceptor event.

REQUEST: `TokenCheck` → `TierPolicyCheck` → `ArgumentValidation` → `ToolCallBudget` →
`ToolRateLimit`.
RESPONSE: `PiiRedaction` → `ToolsListFilter` → `AuditDecision`.
Every decision is made here, from the verified token, never from what the model says.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from jsonschema import Draft202012Validator
from limits import RateLimitItemPerMinute
from limits.aio.storage import MemoryStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter

from agentry.agent_auth.claims import InvalidInvocationToken, InvocationClaims, InvocationEnded
from agentry.agent_auth.tokens import TokenVerifier
from agentry.gateway import events
from agentry.gateway.events import Event, JsonRpc
from agentry.gateway.policy import Subject, TierPolicy
from agentry.gateway.tools import ToolCatalog, ToolSpec
from agentry.kit import tracing
from agentry.metering.budgets import DENIALS as BUDGET_DENIALS
from agentry.metering.budgets import InvocationBudgets
from agentry.policy.engine import DENIALS as POLICY_DENIALS
from agentry.policy.engine import PolicyEngine
from agentry.policy.engine import Request as CedarRequest

TOOLS_SCOPE = "tools"
# JSON-RPC error codes (-32000..-32099 are for the implementation).
UNAUTHORIZED, FORBIDDEN, DENIED, RATE_LIMITED = -32001, -32002, -32003, -32029
BUDGET_EXCEEDED = -32030
INVALID_PARAMS = -32602


def _method(event: Event) -> str:
    return str(events.gateway_request(event)["body"].get("method", ""))


def _params(event: Event) -> dict[str, Any]:
    params = events.gateway_request(event)["body"].get("params")
    return params if isinstance(params, dict) else {}


def _deny(
    event: Event, status: int, code: int, message: str, *, data_code: str, reason: str
) -> Event:
    body = events.gateway_request(event)["body"]
    return events.respond(
        status, events.rpc_error(body, code, message, reason=reason, data_code=data_code)
    )


class VerifiedClaims:
    """The bearer token's InvocationClaims, verified once per distinct token (interceptors
    share this cache)."""

    def __init__(self, verifier: TokenVerifier, cache_size: int = 4096) -> None:
        self._verifier = verifier
        self._cache: dict[str, InvocationClaims] = {}
        self._cache_size = cache_size

    def of(self, event: Event) -> InvocationClaims:
        token = events.bearer(event)
        if token is None:
            raise InvalidInvocationToken("missing bearer token")
        cached = self._cache.get(token)
        if cached is not None:
            if cached.expires_at > time.time():
                self._verifier.check_live(cached)  # an invocation may end while cached
                return cached
            del self._cache[token]
        claims = self._verifier.verify(token)
        if len(self._cache) >= self._cache_size:
            self._cache.clear()
        self._cache[token] = claims
        return claims


@dataclass
class TokenCheck:
    claims: VerifiedClaims

    async def __call__(self, event: Event) -> Event:
        try:
            found = self.claims.of(event)
        except InvocationEnded as exc:
            return _deny(
                event, 401, UNAUTHORIZED, "Unauthorized", data_code=exc.code, reason=str(exc)
            )
        except InvalidInvocationToken as exc:
            return _deny(
                event, 401, UNAUTHORIZED, "Unauthorized", data_code="invalid_token", reason=str(exc)
            )
        if TOOLS_SCOPE not in found.scopes:
            return _deny(
                event,
                403,
                FORBIDDEN,
                "Forbidden",
                data_code="insufficient_scope",
                reason="the invocation token lacks the 'tools' scope",
            )
        tracing.annotate(tenant_id=found.tenant_id, invocation_id=found.invocation_id)
        return events.passthrough()


def cedar_tool_request(claims: InvocationClaims, tool: str) -> CedarRequest:
    return CedarRequest(
        claims.tenant_id,
        claims.tier,
        "CallTool",
        tool,
        role="agent",
        agent=claims.agent,
        depth=claims.depth,
        mode="",
    )


@dataclass
class TierPolicyCheck:
    claims: VerifiedClaims
    policy: TierPolicy
    cedar: PolicyEngine | None = None  # the policy sets managed as data

    async def __call__(self, event: Event) -> Event:
        if _method(event) != "tools/call":
            return events.passthrough()
        name = str(_params(event).get("name", ""))
        claims = self.claims.of(event)
        decision = self.policy.decide(Subject.of(claims), name)
        if decision.allowed and self.cedar is not None:
            verdict = self.cedar.decide(cedar_tool_request(claims, name))
            if not verdict.allowed:
                POLICY_DENIALS.labels(claims.tenant_id, "CallTool", "cedar").inc()
                return _deny(
                    event,
                    200,
                    DENIED,
                    f"Tool denied: {name}: {verdict.reason}",
                    data_code="policy_denied",
                    reason=verdict.reason,
                )
        if decision.allowed:
            return events.passthrough()
        if name not in self.policy.grants:
            return _deny(
                event,
                200,
                INVALID_PARAMS,
                f"Unknown tool: {name}",
                data_code="unknown_tool",
                reason=decision.reason,
            )
        POLICY_DENIALS.labels(claims.tenant_id, "CallTool", "tier").inc()
        return _deny(
            event,
            200,
            DENIED,
            f"Tool denied: {name}: {decision.reason}",
            data_code="tool_denied",
            reason=decision.reason,
        )


class ArgumentValidation:
    """Validates arguments against the tool's inputSchema, following catalog changes: a
    validator is built on first use and rebuilt when the tool's spec is replaced."""

    def __init__(self, catalog: ToolCatalog) -> None:
        self._catalog = catalog
        self._validators: dict[str, tuple[ToolSpec, Draft202012Validator]] = {}

    def _validator(self, name: str) -> Draft202012Validator | None:
        spec = self._catalog.get(name)
        if spec is None:
            self._validators.pop(name, None)
            return None
        cached = self._validators.get(name)
        if cached is None or cached[0] is not spec:
            cached = (spec, Draft202012Validator(spec.input_schema))
            self._validators[name] = cached
        return cached[1]

    async def __call__(self, event: Event) -> Event:
        if _method(event) != "tools/call":
            return events.passthrough()
        params = _params(event)
        validator = self._validator(str(params.get("name", "")))
        if validator is None:
            return _deny(
                event,
                200,
                INVALID_PARAMS,
                "Unknown tool",
                data_code="unknown_tool",
                reason="no such tool",
            )
        arguments = params.get("arguments", {})
        if validator.is_valid(arguments):  # the common case; collecting errors costs more
            return events.passthrough()
        problems = sorted(
            (
                f"{'/'.join(str(p) for p in e.absolute_path) or '(arguments)'}: {e.message}"
                for e in validator.iter_errors(arguments)
            ),
        )
        if problems:
            return _deny(
                event,
                200,
                INVALID_PARAMS,
                "Invalid params",
                data_code="invalid_arguments",
                reason="; ".join(problems),
            )
        return events.passthrough()


def tool_call_key(claims: InvocationClaims, event: Event) -> str:
    """The metering key of a tools/call: the invocation, the JSON-RPC id, the tool and its
    arguments, so a retried job replaying the same calls is recognised."""
    params = _params(event)
    basis = json.dumps(
        [
            claims.invocation_id,
            events.gateway_request(event)["body"].get("id"),
            params.get("name"),
            params.get("arguments"),
        ],
        sort_keys=True,
    )
    return "tool:" + hashlib.sha256(basis.encode()).hexdigest()


@dataclass
class ToolCallBudget:
    """At most the tier's number of tool calls per invocation, counted from the usage table.
    A replayed call whose usage is recorded already is not charged again (`Spent`)."""

    claims: VerifiedClaims
    budgets: InvocationBudgets
    per_invocation: Mapping[str, int]

    async def __call__(self, event: Event) -> Event:
        if _method(event) != "tools/call":
            return events.passthrough()
        found = self.claims.of(event)
        limit = self.per_invocation.get(found.tier)
        if limit is None:
            return events.passthrough()
        spent = await self.budgets.of(found.tenant_id, found.invocation_id)
        if spent.may_call_tool(tool_call_key(found, event), limit):
            return events.passthrough()
        BUDGET_DENIALS.labels(found.tenant_id, "invocation_tool_calls").inc()
        return _deny(
            event,
            200,
            BUDGET_EXCEEDED,
            "Budget exceeded",
            data_code="budget_exceeded",
            reason=f"the invocation used its {limit} tool calls ({found.tier} tier)",
        )


class ToolRateLimit:
    """Per tenant and tool, per minute, by tier (the `limits` library, memory or Redis)."""

    def __init__(
        self, claims: VerifiedClaims, per_minute: Mapping[str, int], storage: Storage | None = None
    ) -> None:
        self._claims = claims
        self._items = {tier: RateLimitItemPerMinute(n) for tier, n in per_minute.items()}
        self._limiter = MovingWindowRateLimiter(storage or MemoryStorage())

    async def __call__(self, event: Event) -> Event:
        if _method(event) != "tools/call":
            return events.passthrough()
        found = self._claims.of(event)
        item = self._items.get(found.tier)
        if item is None:
            return events.passthrough()
        tool = str(_params(event).get("name", ""))
        if await self._limiter.hit(item, found.tenant_id, tool):
            return events.passthrough()
        stats = await self._limiter.get_window_stats(item, found.tenant_id, tool)
        retry = max(1, round(stats.reset_time - time.time()))
        denied = _deny(
            event,
            200,
            RATE_LIMITED,
            "Rate limited",
            data_code="rate_limited",
            reason=f"over {item.amount} calls of {tool} per minute; retry in {retry}s",
        )
        denied["mcp"]["transformedGatewayResponse"]["body"]["error"]["data"]["retry_after_s"] = (
            retry
        )
        return denied


_PII = [
    ("email", re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")),
    ("card", re.compile(r"\b(?:\d[ -]?){13,19}\b")),
    ("phone", re.compile(r"\+?\d[\d ().-]{7,}\d")),
]


def redact(text: str) -> str:
    for label, pattern in _PII:
        text = pattern.sub(f"[redacted:{label}]", text)
    return text


def _redact_value(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list):
        return [_redact_value(v) for v in value]
    if isinstance(value, dict):
        return {k: _redact_value(v) for k, v in value.items()}
    return value


@dataclass
class PiiRedaction:
    """Redacts e-mail addresses, card and phone numbers from tool output for chosen tiers."""

    claims: VerifiedClaims
    tiers: frozenset[str]

    async def __call__(self, event: Event) -> Event:
        response = event["mcp"]["gatewayResponse"]
        result = response["body"].get("result")
        if _method(event) != "tools/call" or not isinstance(result, dict):
            return events.passthrough()
        try:
            tier = self.claims.of(event).tier
        except InvalidInvocationToken:
            return events.passthrough()
        if tier not in self.tiers:
            return events.passthrough()
        body = {**response["body"], "result": _redact_value(result)}
        return events.respond(response["statusCode"], body)


@dataclass
class ToolsListFilter:
    claims: VerifiedClaims
    policy: TierPolicy
    cedar: PolicyEngine | None = None

    async def __call__(self, event: Event) -> Event:
        response = event["mcp"]["gatewayResponse"]
        result = response["body"].get("result")
        if _method(event) != "tools/list" or not isinstance(result, dict):
            return events.passthrough()
        try:
            claims = self.claims.of(event)
        except InvalidInvocationToken:
            return events.passthrough()
        subject = Subject.of(claims)
        tools = result.get("tools") or []
        allowed = self.policy.allowed_tools(subject, [t.get("name", "") for t in tools])
        if self.cedar is not None:
            cedar = self.cedar
            allowed = {t for t in allowed if cedar.decide(cedar_tool_request(claims, t)).allowed}
        kept = [t for t in tools if t.get("name") in allowed]
        return events.respond(
            response["statusCode"], {**response["body"], "result": {**result, "tools": kept}}
        )


@dataclass(frozen=True, slots=True)
class AuditRecord:
    tenant_id: str | None
    agent: str | None
    invocation_id: str | None
    method: str
    tool: str | None
    outcome: str  # allowed | denied | error
    reason: str


AuditSink = Callable[[AuditRecord], Awaitable[None]]


@dataclass
class AuditDecision:
    """Records every tools/call decision (and tools/list) with its reason; never arguments."""

    claims: VerifiedClaims
    sink: AuditSink

    async def __call__(self, event: Event) -> Event:
        method = _method(event)
        if method not in ("tools/call", "tools/list"):
            return events.passthrough()
        try:
            found: InvocationClaims | None = self.claims.of(event)
        except InvalidInvocationToken:
            found = None
        body: JsonRpc = event["mcp"]["gatewayResponse"]["body"]
        error = body.get("error")
        if error:
            data = error.get("data") or {}
            outcome = (
                "denied"
                if data.get("code")
                in (
                    "tool_denied",
                    "rate_limited",
                    "budget_exceeded",
                    "invalid_token",
                    "invocation_ended",
                    "insufficient_scope",
                )
                else "error"
            )
            reason = str(data.get("reason") or error.get("message", ""))
        else:
            outcome, reason = "allowed", "ok"
        tool = str(_params(event).get("name")) if method == "tools/call" else None
        await self.sink(
            AuditRecord(
                tenant_id=found.tenant_id if found else None,
                agent=found.agent if found else None,
                invocation_id=found.invocation_id if found else None,
                method=method,
                tool=tool,
                outcome=outcome,
                reason=reason,
            )
        )
        return events.passthrough()


ToolCallSink = Callable[[InvocationClaims, str], Awaitable[bool]]  # True when newly recorded


@dataclass
class ToolCallMetering:
    """Meters each executed tools/call once (`tool_call_key`): a retried job replaying the same
    calls is neither billed nor charged against its budget twice."""

    claims: VerifiedClaims
    sink: ToolCallSink
    budgets: InvocationBudgets | None = None

    async def __call__(self, event: Event) -> Event:
        if (
            _method(event) != "tools/call"
            or "result" not in event["mcp"]["gatewayResponse"]["body"]
        ):
            return events.passthrough()
        try:
            found = self.claims.of(event)
        except InvalidInvocationToken:
            return events.passthrough()
        key = tool_call_key(found, event)
        new = await self.sink(found, key)
        if self.budgets is not None:
            self.budgets.used(found.invocation_id, key, new=new, tool_calls=1)
        return events.passthrough()

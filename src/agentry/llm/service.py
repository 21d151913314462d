"""The model gateway: the tier picks the model, budgets cap each invocation, usage is metered.

Tenants and agents never choose the model: `model` in a request is ignored. Each completion's
tokens are recorded under an idempotency key derived from the invocation and the request, so
a retried job replaying the same conversation is not billed twice, and (the budget counting
what is recorded) not charged twice against its token budget either.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from opentelemetry.trace import Span, SpanKind

from agentry.agent_auth.claims import InvocationClaims
from agentry.kit import tracing
from agentry.kit.errors import Forbidden, TooManyRequests
from agentry.kit.ids import new_id
from agentry.llm.providers.base import Provider
from agentry.llm.schemas import ChatRequest, Completion
from agentry.metering.budgets import DENIALS as BUDGET_DENIALS
from agentry.metering.budgets import InvocationBudgets


class BudgetExceeded(TooManyRequests):
    code = "budget_exceeded"
    title = "The invocation's model budget is spent"


class MissingModelScope(Forbidden):
    code = "insufficient_scope"
    title = "The invocation token lacks the 'model' scope"


@dataclass(frozen=True, slots=True)
class TierModel:
    provider: str
    model: str
    max_tokens_per_invocation: int


@dataclass(frozen=True, slots=True)
class UsageRecord:
    claims: InvocationClaims
    model: str
    input_tokens: int
    output_tokens: int
    idempotency_key: str


UsageSink = Callable[[UsageRecord], Awaitable[bool]]  # True when newly recorded
DenialSink = Callable[[InvocationClaims, str], Awaitable[None]]
# Raises when policy denies the model to the caller (UseModel).
ModelPolicy = Callable[[InvocationClaims, str], Awaitable[None]]


class ModelGateway:
    def __init__(
        self,
        routes: Mapping[str, TierModel],
        providers: Mapping[str, Provider],
        *,
        usage: UsageSink,
        denied: DenialSink,
        budgets: InvocationBudgets | None = None,
        policy: ModelPolicy | None = None,
    ) -> None:
        self._policy = policy
        self._routes = routes
        self._providers = providers
        self._usage = usage
        self._denied = denied
        self.budgets = budgets or InvocationBudgets()

    def route(self, tier: str) -> TierModel:
        return self._routes[tier]

    def models(self, claims: InvocationClaims) -> dict[str, Any]:
        """OpenAI's model list: the one model the caller's tier is served (SDKs ask first)."""
        if "model" not in claims.scopes:
            raise MissingModelScope("This invocation may not call the model gateway.")
        model = self.route(claims.tier).model
        return {
            "object": "list",
            "data": [{"id": model, "object": "model", "created": 0, "owned_by": "agentry"}],
        }

    async def _admit(
        self, claims: InvocationClaims, request: ChatRequest, key: str
    ) -> tuple[TierModel, ChatRequest]:
        if "model" not in claims.scopes:
            raise MissingModelScope("This invocation may not call the model gateway.")
        route = self.route(claims.tier)
        if self._policy is not None:
            await self._policy(claims, route.model)
        spent = await self.budgets.of(claims.tenant_id, claims.invocation_id)
        left = spent.tokens_left(key, route.max_tokens_per_invocation)
        if left <= 0:
            await self._denied(claims, "token budget spent")
            BUDGET_DENIALS.labels(claims.tenant_id, "invocation_tokens").inc()
            raise BudgetExceeded(
                f"Invocation {claims.invocation_id} used its {route.max_tokens_per_invocation} "
                f"tokens ({claims.tier} tier).",
                headers={"Retry-After": "3600"},
            )
        capped = min(request.max_tokens or left, left)
        return route, request.model_copy(update={"max_tokens": capped})

    async def complete(self, claims: InvocationClaims, request: ChatRequest) -> dict[str, Any]:
        key = _usage_key(claims, request)
        route, capped = await self._admit(claims, request, key)
        with tracing.span(**_model_span(claims, route, capped)) as opened:
            completion = await self._providers[route.provider].complete(route.model, capped)
            _record_completion(opened, completion)
        await self._meter(claims, key, completion)
        return _response(completion)

    async def stream(self, claims: InvocationClaims, request: ChatRequest) -> AsyncIterator[bytes]:
        key = _usage_key(claims, request)
        route, capped = await self._admit(claims, request, key)
        completion_id, created = new_id("chatcmpl"), int(time.time())

        async def frames() -> AsyncIterator[bytes]:
            with tracing.span(**_model_span(claims, route, capped, stream=True)) as opened:
                async for frame in _frames(opened):
                    yield frame
            yield b"data: [DONE]\n\n"

        async def _frames(opened: Span | None) -> AsyncIterator[bytes]:
            async for item in self._providers[route.provider].stream(route.model, capped):
                if isinstance(item, str):
                    yield _sse(_chunk(completion_id, created, route.model, {"content": item}, None))
                    continue
                _record_completion(opened, item)
                await self._meter(claims, key, item)
                if item.tool_calls:
                    delta = {
                        "tool_calls": [
                            {"index": i, **call.model_dump()}
                            for i, call in enumerate(item.tool_calls)
                        ]
                    }
                    yield _sse(_chunk(completion_id, created, route.model, delta, None))
                final = _chunk(completion_id, created, route.model, {}, item.finish_reason)
                final["usage"] = item.usage.model_dump()
                yield _sse(final)

        return frames()

    async def _meter(self, claims: InvocationClaims, key: str, completion: Completion) -> None:
        recorded = await self._usage(
            UsageRecord(
                claims=claims,
                model=completion.model,
                input_tokens=completion.usage.prompt_tokens,
                output_tokens=completion.usage.completion_tokens,
                idempotency_key=key,
            )
        )
        self.budgets.used(
            claims.invocation_id, key, new=recorded, tokens=completion.usage.total_tokens
        )


# GenAI semantic conventions' provider names (gen_ai.provider.name).
_PROVIDER_NAMES = {"bedrock": "aws.bedrock", "local": "agentry.local"}


def _model_span(
    claims: InvocationClaims, route: TierModel, request: ChatRequest, *, stream: bool = False
) -> dict[str, Any]:
    provider = _PROVIDER_NAMES.get(route.provider, route.provider)
    attributes: dict[str, Any] = {
        tracing.OPERATION: "chat",
        "gen_ai.provider.name": provider,
        "gen_ai.system": provider,  # the name before semantic conventions 1.37
        "gen_ai.request.model": route.model,
        "gen_ai.request.max_tokens": request.max_tokens or 0,
        "gen_ai.agent.name": claims.agent,
        tracing.TENANT: claims.tenant_id,
        tracing.INVOCATION: claims.invocation_id,
        "agentry.model.stream": stream,
    }
    if tracing.capture_content():
        attributes["gen_ai.input.messages"] = json.dumps(
            [m.model_dump(exclude_none=True) for m in request.messages]
        )
    return {
        "name": f"chat {route.model}",
        "kind": SpanKind.CLIENT,
        "attributes": attributes,
        "current": not stream,
    }


def _record_completion(opened: Span | None, completion: Completion) -> None:
    if opened is None:
        return
    opened.set_attribute("gen_ai.response.model", completion.model)
    opened.set_attribute("gen_ai.response.finish_reasons", [completion.finish_reason])
    opened.set_attribute("gen_ai.usage.input_tokens", completion.usage.prompt_tokens)
    opened.set_attribute("gen_ai.usage.output_tokens", completion.usage.completion_tokens)
    if tracing.capture_content():
        opened.set_attribute(
            "gen_ai.output.messages",
            json.dumps(
                {
                    "content": completion.content,
                    "tool_calls": [c.model_dump() for c in completion.tool_calls],
                }
            ),
        )


def _usage_key(claims: InvocationClaims, request: ChatRequest) -> str:
    # What the agent asked (not the budget-capped copy), so a replay matches.
    return hashlib.sha256(
        (claims.invocation_id + "\x00" + request.model_dump_json(exclude={"model"})).encode()
    ).hexdigest()


def _response(c: Completion) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": c.content}
    if c.tool_calls:
        message["tool_calls"] = [call.model_dump() for call in c.tool_calls]
    return {
        "id": new_id("chatcmpl"),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": c.model,
        "choices": [{"index": 0, "message": message, "finish_reason": c.finish_reason}],
        "usage": c.usage.model_dump(),
    }


def _chunk(
    cid: str, created: int, model: str, delta: dict[str, Any], finish: str | None
) -> dict[str, Any]:
    return {
        "id": cid,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def _sse(data: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(data, separators=(",", ":")).encode() + b"\n\n"

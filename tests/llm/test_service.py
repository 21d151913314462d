from __future__ import annotations

import json

import pytest

from agentry.agent_auth.claims import InvocationClaims
from agentry.llm.providers.local import LocalProvider
from agentry.llm.schemas import ChatRequest
from agentry.llm.service import BudgetExceeded, ModelGateway, TierModel, UsageRecord

ROUTES = {
    "basic": TierModel("local", "local-small", 60),
    "premium": TierModel("local", "local-large", 10_000),
}


def _claims(tier: str, invocation: str = "inv_1", scopes: str = "model tools") -> InvocationClaims:
    return InvocationClaims(
        tenant_id=f"ten_{tier}",
        tier=tier,
        agent="concierge",
        version=1,
        invocation_id=invocation,
        session_id="s",
        scopes=frozenset(scopes.split()),
        jti="j",
    )


@pytest.fixture
def recorded() -> dict[str, list[object]]:
    return {"usage": [], "denied": []}


@pytest.fixture
def gateway(recorded: dict[str, list[object]]) -> ModelGateway:
    async def usage(record: UsageRecord) -> bool:
        new = all(r.idempotency_key != record.idempotency_key for r in recorded["usage"])  # type: ignore[attr-defined]
        recorded["usage"].append(record)
        return new

    async def denied(claims: InvocationClaims, reason: str) -> None:
        recorded["denied"].append((claims.invocation_id, reason))

    return ModelGateway(ROUTES, {"local": LocalProvider()}, usage=usage, denied=denied)


def _ask(text: str, **kw: object) -> ChatRequest:
    return ChatRequest.model_validate({"messages": [{"role": "user", "content": text}], **kw})


async def test_the_tier_picks_the_model_whatever_the_request_says(gateway: ModelGateway) -> None:
    basic = await gateway.complete(_claims("basic"), _ask("hello there", model="gpt-9"))
    premium = await gateway.complete(_claims("premium"), _ask("hello there", model="gpt-9"))
    assert basic["model"] == "local-small"
    assert premium["model"] == "local-large"
    assert premium["choices"][0]["message"]["content"] == "[local-large] hello there"


async def test_scripted_tool_call_and_answer_from_tool_result(gateway: ModelGateway) -> None:
    first = await gateway.complete(
        _claims("premium"), _ask('call insights___forecast {"series": [1, 2, 3]}')
    )
    choice = first["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    call = choice["message"]["tool_calls"][0]
    assert call["function"]["name"] == "insights___forecast"
    assert json.loads(call["function"]["arguments"]) == {"series": [1, 2, 3]}
    follow = ChatRequest.model_validate(
        {
            "messages": [
                {"role": "user", "content": "call insights___forecast {}"},
                {"role": "assistant", "tool_calls": [call]},
                {
                    "role": "tool",
                    "tool_call_id": call["id"],
                    "name": "insights___forecast",
                    "content": "[4.0]",
                },
            ]
        }
    )
    answer = await gateway.complete(_claims("premium"), follow)
    assert answer["choices"][0]["message"]["content"] == "insights___forecast returned: [4.0]"


async def test_token_counts_follow_the_documented_rule(gateway: ModelGateway) -> None:
    out = await gateway.complete(_claims("premium"), _ask("one two three"))
    # prompt: 4 + 3 words; answer "[local-large] one two three": 4 words
    assert out["usage"] == {"prompt_tokens": 7, "completion_tokens": 4, "total_tokens": 11}


async def test_budget_is_enforced_per_invocation_and_denials_are_reported(
    gateway: ModelGateway, recorded: dict[str, list[object]]
) -> None:
    claims = _claims("basic", invocation="inv_budget")
    words = " ".join(["w"] * 20)
    for turn in ("a", "b"):
        await gateway.complete(claims, _ask(f"{turn} {words}"))  # 25 + 22 tokens each
    with pytest.raises(BudgetExceeded) as info:
        await gateway.complete(claims, _ask(f"c {words}"))
    assert info.value.status_code == 429
    assert info.value.code == "budget_exceeded"
    assert recorded["denied"] == [("inv_budget", "token budget spent")]
    # Another invocation has its own budget.
    await gateway.complete(_claims("basic", invocation="inv_other"), _ask(words))


async def test_answers_are_capped_to_what_is_left_of_the_budget(gateway: ModelGateway) -> None:
    out = await gateway.complete(_claims("basic", invocation="inv_cap"), _ask(" ".join(["w"] * 80)))
    assert out["choices"][0]["finish_reason"] == "length"
    assert out["usage"]["completion_tokens"] <= 60


async def test_usage_is_keyed_so_a_replayed_request_is_recognisable(
    gateway: ModelGateway, recorded: dict[str, list[object]]
) -> None:
    await gateway.complete(_claims("premium", invocation="inv_r"), _ask("same"))
    await gateway.complete(_claims("premium", invocation="inv_r"), _ask("same"))
    await gateway.complete(_claims("premium", invocation="inv_r"), _ask("different"))
    keys = [r.idempotency_key for r in recorded["usage"]]  # type: ignore[attr-defined]
    assert keys[0] == keys[1] != keys[2]


async def test_model_scope_is_required(gateway: ModelGateway) -> None:
    from agentry.llm.service import MissingModelScope

    with pytest.raises(MissingModelScope):
        await gateway.complete(_claims("premium", scopes="tools"), _ask("hi"))


async def test_streaming_yields_deltas_then_usage_then_done(gateway: ModelGateway) -> None:
    frames = [f async for f in await gateway.stream(_claims("premium"), _ask("a b c", stream=True))]
    assert frames[-1] == b"data: [DONE]\n\n"
    chunks = [json.loads(f[6:]) for f in frames[:-1]]
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    assert text == "[local-large] a b c"
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["usage"]["total_tokens"] == 7 + 4


async def test_streaming_carries_tool_calls(gateway: ModelGateway) -> None:
    frames = [
        f async for f in await gateway.stream(_claims("premium"), _ask("call utility___now {}"))
    ]
    chunks = [json.loads(f[6:]) for f in frames[:-1]]
    calls = [
        c["choices"][0]["delta"]["tool_calls"]
        for c in chunks
        if "tool_calls" in c["choices"][0]["delta"]
    ]
    assert calls[0][0]["function"]["name"] == "utility___now"
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"

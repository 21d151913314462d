"""Bedrock Converse shapes, checked with botocore's Stubber (no AWS is reachable here)."""

from __future__ import annotations

import boto3
from botocore.stub import Stubber

from agentry.llm.providers.bedrock import BedrockProvider, from_stream_events
from agentry.llm.schemas import ChatRequest

MODEL = "anthropic.claude-3-5-haiku-20241022-v1:0"


def _request() -> ChatRequest:
    return ChatRequest.model_validate(
        {
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "Forecast 1,2,3"},
                {
                    "role": "assistant",
                    "tool_calls": [
                        {
                            "id": "t1",
                            "function": {
                                "name": "insights___forecast",
                                "arguments": '{"series": [1, 2, 3]}',
                            },
                        }
                    ],
                },
                {"role": "tool", "tool_call_id": "t1", "content": "[4.0]"},
            ],
            "tools": [
                {
                    "function": {
                        "name": "insights___forecast",
                        "description": "Forecast",
                        "parameters": {"type": "object"},
                    }
                }
            ],
            "max_tokens": 256,
        }
    )


async def test_converse_request_and_response_shapes() -> None:
    client = boto3.client(
        "bedrock-runtime", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    expected = {
        "modelId": MODEL,
        "system": [{"text": "Be brief."}],
        "messages": [
            {"role": "user", "content": [{"text": "Forecast 1,2,3"}]},
            {
                "role": "assistant",
                "content": [
                    {
                        "toolUse": {
                            "toolUseId": "t1",
                            "name": "insights___forecast",
                            "input": {"series": [1, 2, 3]},
                        }
                    }
                ],
            },
            {
                "role": "user",
                "content": [{"toolResult": {"toolUseId": "t1", "content": [{"text": "[4.0]"}]}}],
            },
        ],
        "inferenceConfig": {"maxTokens": 256},
        "toolConfig": {
            "tools": [
                {
                    "toolSpec": {
                        "name": "insights___forecast",
                        "description": "Forecast",
                        "inputSchema": {"json": {"type": "object"}},
                    }
                }
            ]
        },
    }
    response = {
        "output": {
            "message": {
                "role": "assistant",
                "content": [
                    {"text": "Calling again."},
                    {"toolUse": {"toolUseId": "t2", "name": "utility___now", "input": {}}},
                ],
            }
        },
        "stopReason": "tool_use",
        "usage": {"inputTokens": 31, "outputTokens": 9, "totalTokens": 40},
        "metrics": {"latencyMs": 120},
    }
    with Stubber(client) as stub:
        stub.add_response("converse", response, expected)
        completion = await BedrockProvider(client).complete(MODEL, _request())
        stub.assert_no_pending_responses()
    assert completion.content == "Calling again."
    assert completion.finish_reason == "tool_calls"
    assert completion.tool_calls[0].function.name == "utility___now"
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (31, 9)


def test_stream_events_become_deltas_and_a_final_completion() -> None:
    events = [
        {"messageStart": {"role": "assistant"}},
        {"contentBlockDelta": {"delta": {"text": "Hel"}, "contentBlockIndex": 0}},
        {"contentBlockDelta": {"delta": {"text": "lo"}, "contentBlockIndex": 0}},
        {
            "contentBlockStart": {
                "start": {"toolUse": {"toolUseId": "t9", "name": "utility___now"}},
                "contentBlockIndex": 1,
            }
        },
        {"contentBlockDelta": {"delta": {"toolUse": {"input": '{"a"'}}, "contentBlockIndex": 1}},
        {"contentBlockDelta": {"delta": {"toolUse": {"input": ": 1}"}}, "contentBlockIndex": 1}},
        {"messageStop": {"stopReason": "tool_use"}},
        {"metadata": {"usage": {"inputTokens": 5, "outputTokens": 3, "totalTokens": 8}}},
    ]
    items = list(from_stream_events(MODEL, events))
    assert items[:2] == ["Hel", "lo"]
    final = items[-1]
    assert not isinstance(final, str)
    assert final.content == "Hello"
    assert final.tool_calls[0].function.arguments == '{"a": 1}'
    assert final.finish_reason == "tool_calls"
    assert final.usage.total_tokens == 8

"""Amazon Bedrock through the Converse / ConverseStream API (boto3 `bedrock-runtime`).

Only exercised here against botocore's Stubber (request and response shapes) and recorded
event sequences; no AWS account is reachable from the development machines.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterable
from typing import Any

from agentry.llm.schemas import ChatRequest, Completion, FunctionCall, Message, ToolCall, Usage

_FINISH = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "tool_use": "tool_calls",
    "max_tokens": "length",
}


def to_converse(model: str, request: ChatRequest) -> dict[str, Any]:
    system = [{"text": m.content or ""} for m in request.messages if m.role == "system"]
    messages: list[dict[str, Any]] = []
    for m in request.messages:
        if m.role == "system":
            continue
        blocks = _blocks(m)
        role = "assistant" if m.role == "assistant" else "user"
        if messages and messages[-1]["role"] == role:
            messages[-1]["content"].extend(blocks)  # Converse wants alternating roles
        else:
            messages.append({"role": role, "content": blocks})
    params: dict[str, Any] = {"modelId": model, "messages": messages}
    if system:
        params["system"] = system
    if request.max_tokens:
        params["inferenceConfig"] = {"maxTokens": request.max_tokens}
    if request.tools:
        params["toolConfig"] = {
            "tools": [
                {
                    "toolSpec": {
                        "name": t.function.name,
                        "description": t.function.description or t.function.name,
                        "inputSchema": {"json": t.function.parameters or {"type": "object"}},
                    }
                }
                for t in request.tools
            ]
        }
    return params


def _blocks(m: Message) -> list[dict[str, Any]]:
    if m.role == "tool":
        return [
            {
                "toolResult": {
                    "toolUseId": m.tool_call_id or "",
                    "content": [{"text": m.content or ""}],
                }
            }
        ]
    blocks: list[dict[str, Any]] = [{"text": m.content}] if m.content else []
    for call in m.tool_calls or []:
        blocks.append(
            {
                "toolUse": {
                    "toolUseId": call.id,
                    "name": call.function.name,
                    "input": json.loads(call.function.arguments or "{}"),
                }
            }
        )
    return blocks


def from_converse(model: str, response: dict[str, Any]) -> Completion:
    text, calls = [], []
    for block in response["output"]["message"]["content"]:
        if "text" in block:
            text.append(block["text"])
        elif "toolUse" in block:
            use = block["toolUse"]
            calls.append(
                ToolCall(
                    id=use["toolUseId"],
                    function=FunctionCall(name=use["name"], arguments=json.dumps(use["input"])),
                )
            )
    usage = response["usage"]
    return Completion(
        model=model,
        content="".join(text) or None,
        tool_calls=calls,
        finish_reason=_FINISH.get(response["stopReason"], "stop"),
        usage=Usage(
            prompt_tokens=usage["inputTokens"],
            completion_tokens=usage["outputTokens"],
            total_tokens=usage["totalTokens"],
        ),
    )


def from_stream_events(model: str, events: Iterable[dict[str, Any]]) -> Iterable[str | Completion]:
    """Map ConverseStream events to text deltas and a final Completion."""
    text: list[str] = []
    calls: list[dict[str, Any]] = []
    stop, usage = "end_turn", {"inputTokens": 0, "outputTokens": 0, "totalTokens": 0}
    for event in events:
        if "contentBlockStart" in event:
            start = event["contentBlockStart"].get("start", {})
            if "toolUse" in start:
                calls.append({**start["toolUse"], "input": ""})
        elif "contentBlockDelta" in event:
            delta = event["contentBlockDelta"]["delta"]
            if "text" in delta:
                text.append(delta["text"])
                yield delta["text"]
            elif "toolUse" in delta and calls:
                calls[-1]["input"] += delta["toolUse"].get("input", "")
        elif "messageStop" in event:
            stop = event["messageStop"].get("stopReason", stop)
        elif "metadata" in event:
            usage = event["metadata"].get("usage", usage)
    yield from_converse(
        model,
        {
            "output": {
                "message": {
                    "content": [{"text": "".join(text)}]
                    + [
                        {
                            "toolUse": {
                                "toolUseId": c["toolUseId"],
                                "name": c["name"],
                                "input": json.loads(c["input"] or "{}"),
                            }
                        }
                        for c in calls
                    ]
                }
            },
            "stopReason": stop,
            "usage": usage,
        },
    )


class BedrockProvider:
    name = "bedrock"

    def __init__(self, client: Any = None, region: str | None = None) -> None:
        if client is None:
            import boto3  # type: ignore[import-untyped]

            client = boto3.client("bedrock-runtime", region_name=region)
        self._client = client

    async def complete(self, model: str, request: ChatRequest) -> Completion:
        response = await asyncio.to_thread(self._client.converse, **to_converse(model, request))
        return from_converse(model, response)

    async def stream(self, model: str, request: ChatRequest) -> AsyncIterator[str | Completion]:
        response = await asyncio.to_thread(
            self._client.converse_stream, **to_converse(model, request)
        )
        # The event stream is a blocking iterator; drain it in a thread, a chunk at a time.
        iterator = iter(from_stream_events(model, response["stream"]))
        sentinel = object()
        while (item := await asyncio.to_thread(next, iterator, sentinel)) is not sentinel:
            yield item  # type: ignore[misc]

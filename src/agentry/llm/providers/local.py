"""A deterministic, offline model for development, tests and demos.

Rules (documented in docs/model-gateway.md):
- If the last message is from the user and reads `call <target>___<tool> <json-args>`, the
  model asks for that tool call (finish_reason `tool_calls`).
- If the last messages are tool results, it answers `<tool> returned: <content>` for each.
- Otherwise it answers `[<model>] <the last user message>`.
Token counts: a message costs 4 tokens plus one per whitespace-separated word of its content
(and of its tool-call arguments); the completion costs one per word of the answer, or of each
tool call's name and arguments.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import AsyncIterator

from agentry.llm.schemas import ChatRequest, Completion, FunctionCall, Message, ToolCall, Usage

_CALL = re.compile(r"^\s*call\s+([a-z0-9_-]+___[a-z0-9_-]+)\s*(\{.*\})?\s*$", re.I | re.S)


def _words(text: str | None) -> int:
    return len((text or "").split())


def count_prompt(messages: list[Message]) -> int:
    total = 0
    for m in messages:
        total += 4 + _words(m.content)
        for call in m.tool_calls or []:
            total += _words(call.function.name) + _words(call.function.arguments)
    return total


class LocalProvider:
    name = "local"

    async def complete(self, model: str, request: ChatRequest) -> Completion:
        prompt = count_prompt(request.messages)
        last = request.messages[-1]
        if last.role == "tool":
            results = []
            for m in reversed(request.messages):
                if m.role != "tool":
                    break
                results.append(f"{m.name or m.tool_call_id} returned: {m.content}")
            return self._answer(model, "\n".join(reversed(results)), prompt, request.max_tokens)
        if last.role == "user" and (match := _CALL.match(last.content or "")):
            tool, raw_args = match.group(1), match.group(2) or "{}"
            try:
                args = json.dumps(json.loads(raw_args))
            except ValueError:
                return self._answer(
                    model, f"I cannot parse the arguments for {tool}.", prompt, None
                )
            call_id = "call_" + hashlib.sha256(f"{prompt}:{tool}:{args}".encode()).hexdigest()[:16]
            call = ToolCall(id=call_id, function=FunctionCall(name=tool, arguments=args))
            completion_tokens = 1 + _words(args)
            return Completion(
                model=model,
                content=None,
                tool_calls=[call],
                finish_reason="tool_calls",
                usage=Usage(
                    prompt_tokens=prompt,
                    completion_tokens=completion_tokens,
                    total_tokens=prompt + completion_tokens,
                ),
            )
        user = next((m.content for m in reversed(request.messages) if m.role == "user"), "")
        return self._answer(model, f"[{model}] {user}", prompt, request.max_tokens)

    def _answer(self, model: str, text: str, prompt: int, max_tokens: int | None) -> Completion:
        words = text.split(" ")
        finish: str = "stop"
        if max_tokens is not None and len(text.split()) > max_tokens:
            text, finish = " ".join(words[:max_tokens]), "length"
        completion = _words(text)
        return Completion(
            model=model,
            content=text,
            finish_reason=finish,
            usage=Usage(
                prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion
            ),
        )

    async def stream(self, model: str, request: ChatRequest) -> AsyncIterator[str | Completion]:
        completion = await self.complete(model, request)
        if completion.content:
            words = completion.content.split(" ")
            for i, word in enumerate(words):
                yield word if i == 0 else " " + word
        yield completion

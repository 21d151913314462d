"""Echo agent: answers with what it was sent, on the real bedrock-agentcore SDK.

Test hooks driven by the payload:
- `{"stream": true}`  stream one SSE frame per word of the prompt, then a final frame
- `{"fail": "msg"}`   raise RuntimeError(msg); the SDK answers 500 {"error": "msg"}
- `{"crash": true}`   kill the process mid-request
- `{"sleep": 1.5}`    sleep before answering
- `{"busy": 3}`       report HealthyBusy on /ping for that many seconds (background task)

Input that is not an object, or a hook with a value of the wrong type, is refused with a 400
and a message (`validate`), so the caller never sees a Python exception.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

from bedrock_agentcore import BedrockAgentCoreApp
from starlette.exceptions import HTTPException

app = BedrockAgentCoreApp()
log = logging.getLogger("echo")
MAX_DEPTH = 32
MAX_WAIT_S = 60.0


def _depth(value: Any) -> int:
    """Nesting depth, iteratively (a deep list must not hit Python's recursion limit)."""
    deepest, todo = 0, [(value, 1)]
    while todo:
        item, level = todo.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            if deepest > MAX_DEPTH:
                return deepest
            todo.extend((v, level + 1) for v in (item.values() if isinstance(item, dict) else item))
    return deepest


def _seconds(payload: dict[str, Any], name: str) -> float:
    value = payload.get(name) or 0
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not 0 <= value <= MAX_WAIT_S
    ):
        raise HTTPException(400, f"'{name}' must be a number of seconds from 0 to {MAX_WAIT_S:g}")
    return float(value)


def validate(payload: Any) -> dict[str, Any]:
    """Refuse what this agent cannot handle with a 400 and a message, never an exception."""
    if not isinstance(payload, dict):
        raise HTTPException(400, 'input must be a JSON object, e.g. {"prompt": "hi"}')
    if "prompt" in payload and not isinstance(payload["prompt"], str | None):
        raise HTTPException(400, "'prompt' must be a string")
    if _depth(payload) > MAX_DEPTH:
        raise HTTPException(400, f"input is nested more than {MAX_DEPTH} levels deep")
    _seconds(payload, "sleep")
    _seconds(payload, "busy")
    return payload


async def _stream(prompt: str, session_id: str | None) -> AsyncIterator[dict[str, Any]]:
    words = prompt.split()
    sent = 0
    try:
        for i, word in enumerate(words):
            yield {"index": i, "word": word}
            sent = i + 1
            await asyncio.sleep(0.05)
    except (asyncio.CancelledError, GeneratorExit):
        # The caller closed the connection (a cancelled stream): say so in the session's log.
        log.warning("echo: stream closed by the caller after %d of %d words", sent, len(words))
        raise
    yield {"done": True, "words": len(words), "session_id": session_id, "pid": os.getpid()}


def _busy_for(seconds: float) -> None:
    task_id = app.add_async_task("busy")

    def finish() -> None:
        time.sleep(seconds)
        app.complete_async_task(task_id)

    threading.Thread(target=finish, daemon=True).start()


@app.entrypoint
def invoke(payload: Any, context: Any) -> Any:
    payload = validate(payload)
    if payload.get("sleep"):
        time.sleep(_seconds(payload, "sleep"))
    if payload.get("fail"):
        raise RuntimeError(str(payload["fail"]))
    if payload.get("crash"):
        os._exit(1)
    if payload.get("busy"):
        _busy_for(_seconds(payload, "busy"))
    # A handler returning an async generator makes the SDK answer text/event-stream.
    if payload.get("stream"):
        return _stream(str(payload.get("prompt") or ""), context.session_id)
    return {
        "echo": payload.get("prompt"),
        "payload": payload,
        "session_id": context.session_id,
        "pid": os.getpid(),
    }


if __name__ == "__main__":
    app.run()

"""Echo agent: answers with what it was sent, on the real bedrock-agentcore SDK.

Test hooks driven by the payload:
- `{"stream": true}`  stream one SSE frame per word of the prompt, then a final frame
- `{"fail": "msg"}`   raise RuntimeError(msg); the SDK answers 500 {"error": "msg"}
- `{"crash": true}`   kill the process mid-request
- `{"sleep": 1.5}`    sleep before answering
- `{"busy": 3}`       report HealthyBusy on /ping for that many seconds (background task)
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from typing import Any

from bedrock_agentcore import BedrockAgentCoreApp

app = BedrockAgentCoreApp()


def _stream(prompt: str, session_id: str | None) -> Iterator[dict[str, Any]]:
    words = prompt.split()
    for i, word in enumerate(words):
        yield {"index": i, "word": word}
        time.sleep(0.05)
    yield {"done": True, "words": len(words), "session_id": session_id, "pid": os.getpid()}


def _busy_for(seconds: float) -> None:
    task_id = app.add_async_task("busy")

    def finish() -> None:
        time.sleep(seconds)
        app.complete_async_task(task_id)

    threading.Thread(target=finish, daemon=True).start()


@app.entrypoint
def invoke(payload: dict[str, Any], context: Any) -> Any:
    if payload.get("sleep"):
        time.sleep(float(payload["sleep"]))
    if payload.get("fail"):
        raise RuntimeError(str(payload["fail"]))
    if payload.get("crash"):
        os._exit(1)
    if payload.get("busy"):
        _busy_for(float(payload["busy"]))
    # A sync handler returning a generator makes the SDK answer text/event-stream.
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

"""longrun agent: a multi-step job on the AgentCore async pattern (real bedrock-agentcore SDK).

Payload: `{"steps": 5, "step_s": 1.0}` (or `"duration_s"` split over the steps).

As a job, the platform adds `payload["_agentry"]` = {job_id, attempt, token, callback_url,
checkpoint}. The agent acknowledges at once, works in a background thread registered with
`add_async_task` (so `/ping` answers HealthyBusy), and after each step POSTs progress and a
checkpoint to `<callback_url>/progress|checkpoint`, then the result to `/result`, each with
`Authorization: Bearer <token>`; every answer carries a fresh token. Given a checkpoint (a
retry after a crash), it resumes from the step after it. Without `_agentry` it runs inline.
"""

from __future__ import annotations

import json
import os
import threading
import time
import urllib.error
import urllib.request
from typing import Any

from bedrock_agentcore import BedrockAgentCoreApp
from starlette.exceptions import HTTPException

app = BedrockAgentCoreApp()
CALLBACK_RETRY_S = 120.0


class Stop(Exception):
    """The platform no longer wants this work (job finished, cancelled or token refused)."""


class Callbacks:
    def __init__(self, base: str, token: str) -> None:
        self.base = base
        self.token = token

    def post(self, kind: str, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        deadline = time.monotonic() + CALLBACK_RETRY_S
        delay = 0.2
        while True:
            request = urllib.request.Request(
                f"{self.base}/{kind}",
                data=data,
                method="POST",
                headers={
                    "Content-Type": "application/json",
                    "Authorization": f"Bearer {self.token}",
                },
            )
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    self.token = json.loads(response.read())["token"]
                    return
            except urllib.error.HTTPError as exc:
                if exc.code in (401, 403, 404, 409, 422):
                    raise Stop(f"{kind}: HTTP {exc.code}") from exc
            except (urllib.error.URLError, OSError):
                pass  # the API is restarting: keep trying
            if time.monotonic() > deadline:
                raise Stop(f"{kind}: API unreachable")
            time.sleep(delay)
            delay = min(delay * 2, 2.0)


MAX_STEPS = 1000
MAX_DURATION_S = 8 * 3600.0


def _number(payload: dict[str, Any], name: str, default: float, top: float) -> float:
    value = payload.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= top:
        raise HTTPException(400, f"'{name}' must be a number from 0 to {top:g}")
    return float(value)


def _plan(payload: Any) -> tuple[int, float]:
    """Steps and seconds per step; a 400 with a message for input this agent cannot run."""
    if not isinstance(payload, dict):
        raise HTTPException(400, 'input must be a JSON object, e.g. {"steps": 3}')
    steps = payload.get("steps", 3)
    if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= MAX_STEPS:
        raise HTTPException(400, f"'steps' must be an integer from 1 to {MAX_STEPS}")
    if "duration_s" in payload:
        return steps, _number(payload, "duration_s", 0, MAX_DURATION_S) / steps
    return steps, _number(payload, "step_s", 0.5, MAX_DURATION_S / steps)


def _work(payload: dict[str, Any], ctx: dict[str, Any], task_id: int) -> None:
    steps, step_s = _plan(payload)  # already validated by invoke
    checkpoint = ctx.get("checkpoint") or {}
    done = int(checkpoint.get("step", 0))
    trail: list[int] = list(checkpoint.get("trail", []))
    calls = Callbacks(str(ctx["callback_url"]), str(ctx["token"]))
    try:
        for step in range(done + 1, steps + 1):
            time.sleep(step_s)
            trail.append(step)
            calls.post("checkpoint", {"checkpoint": {"step": step, "trail": trail}})
            calls.post("progress", {"step": step, "total": steps, "percent": 100 * step / steps})
        calls.post(
            "result",
            {
                "result": {
                    "steps": steps,
                    "trail": trail,
                    "resumed_from": done,
                    "attempt": ctx.get("attempt"),
                    "pid": os.getpid(),
                }
            },
        )
    except Stop:
        pass
    finally:
        app.complete_async_task(task_id)


@app.entrypoint
def invoke(payload: Any, context: Any) -> Any:
    ctx = payload.pop("_agentry", None) if isinstance(payload, dict) else None
    steps, step_s = _plan(payload)  # validated before any work starts
    if ctx is None:
        for _ in range(steps):
            time.sleep(step_s)
        return {"steps": steps, "session_id": context.session_id}
    task_id = app.add_async_task("longrun", {"job_id": ctx.get("job_id")})
    threading.Thread(target=_work, args=(payload, ctx, task_id), daemon=True).start()
    resume = (ctx.get("checkpoint") or {}).get("step", 0)
    return {"accepted": True, "job_id": ctx.get("job_id"), "resume_from": resume}


if __name__ == "__main__":
    app.run()

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


def _plan(payload: dict[str, Any]) -> tuple[int, float]:
    steps = max(1, int(payload.get("steps", 3)))
    if "duration_s" in payload:
        return steps, float(payload["duration_s"]) / steps
    return steps, float(payload.get("step_s", 0.5))


def _work(payload: dict[str, Any], ctx: dict[str, Any], task_id: int) -> None:
    steps, step_s = _plan(payload)
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
def invoke(payload: dict[str, Any], context: Any) -> Any:
    ctx = payload.pop("_agentry", None)
    if ctx is None:
        steps, step_s = _plan(payload)
        for _ in range(steps):
            time.sleep(step_s)
        return {"steps": steps, "session_id": context.session_id}
    task_id = app.add_async_task("longrun", {"job_id": ctx.get("job_id")})
    threading.Thread(target=_work, args=(payload, ctx, task_id), daemon=True).start()
    resume = (ctx.get("checkpoint") or {}).get("step", 0)
    return {"accepted": True, "job_id": ctx.get("job_id"), "resume_from": resume}


if __name__ == "__main__":
    app.run()

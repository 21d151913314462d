"""Summariser: a one-line summary of `text`. With `then: [agent, ...]` it delegates its summary
to the next agent, through the platform, with its own invocation token (loop demos).

It never decides who it may call: the platform refuses a loop, a chain too deep, an agent
its manifest does not declare, or one policy denies, and the refusal comes back as a
problem+json the summariser passes on in `delegated`.
"""

from __future__ import annotations

from typing import Any

import httpx
from bedrock_agentcore import BedrockAgentCoreApp
from starlette.exceptions import HTTPException

app = BedrockAgentCoreApp()
MAX_WORDS = 8


def summarise(text: str) -> str:
    words = text.split()
    head = " ".join(words[:MAX_WORDS])
    return f"{head}{' ...' if len(words) > MAX_WORDS else ''} ({len(words)} words)"


async def delegate(ctx: dict[str, Any], agent: str, payload: dict[str, Any]) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=60) as http:
        r = await http.post(
            f"{ctx['agents_url']}/{agent}/invoke",
            json={"input": payload},
            headers={"Authorization": f"Bearer {ctx['token']}"},
        )
    body: dict[str, Any] = r.json()
    return {"status": r.status_code, **body}


@app.entrypoint
async def invoke(payload: Any) -> dict[str, Any]:
    if not isinstance(payload, dict) or not isinstance(payload.get("text", ""), str):
        raise HTTPException(400, 'input must be an object with a "text" string')
    then = payload.get("then") or []
    if not isinstance(then, list) or not all(isinstance(a, str) for a in then):
        raise HTTPException(400, "'then' must be a list of agent names")
    summary = summarise(str(payload.get("text", "")))
    out: dict[str, Any] = {"summary": summary}
    if then:
        ctx = payload.get("_agentry")
        if not isinstance(ctx, dict):
            raise HTTPException(400, "delegating needs the platform's _agentry context")
        out["delegated"] = await delegate(ctx, then[0], {"topic": summary, "then": then[1:]})
    return out


if __name__ == "__main__":
    app.run()

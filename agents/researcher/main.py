"""Researcher: takes notes on `topic`, then asks another agent (default: the summariser) to
summarise them, through the platform with its invocation token (`_agentry.agents_url`).

- `then: [agent, ...]` the chain of agents to hand on to (default `["summariser"]`); the
  first gets the notes and the rest of the chain.
- `stream: true` streams: a `notes` frame, the callee's frames relayed as they come (its
  stream through the platform), then a `done` frame.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
from bedrock_agentcore import BedrockAgentCoreApp
from starlette.exceptions import HTTPException

app = BedrockAgentCoreApp()


def notes_on(topic: str) -> str:
    return (
        f"Notes on {topic}: background, the main findings, open questions and sources "
        "gathered by the researcher agent."
    )


def _auth(ctx: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {ctx['token']}"}


async def delegate(ctx: dict[str, Any], agent: str, payload: dict[str, Any]) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=60) as http:
        r = await http.post(
            f"{ctx['agents_url']}/{agent}/invoke", json={"input": payload}, headers=_auth(ctx)
        )
    body: dict[str, Any] = r.json()
    return {"status": r.status_code, **body}


async def _stream(
    ctx: dict[str, Any], agent: str, topic: str, payload: dict[str, Any]
) -> AsyncIterator[dict[str, Any]]:
    notes = notes_on(topic)
    yield {"notes": notes}
    async with (
        httpx.AsyncClient(timeout=60) as http,
        http.stream(
            "POST",
            f"{ctx['agents_url']}/{agent}/stream",
            json={"input": {**payload, "text": notes}},
            headers=_auth(ctx),
        ) as r,
    ):
        if r.status_code != 200:
            yield {"delegated": {"status": r.status_code, **json.loads(await r.aread())}}
            return
        event = ""
        async for line in r.aiter_lines():
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:"):
                yield {"callee_event": event, "data": json.loads(line[5:])}
    yield {"done": True}


@app.entrypoint
async def invoke(payload: Any) -> Any:
    if not isinstance(payload, dict) or not isinstance(payload.get("topic", ""), str):
        raise HTTPException(400, 'input must be an object with a "topic" string')
    then = payload.get("then") or ["summariser"]
    if not isinstance(then, list) or not all(isinstance(a, str) for a in then):
        raise HTTPException(400, "'then' must be a non-empty list of agent names")
    ctx = payload.get("_agentry")
    if not isinstance(ctx, dict):
        raise HTTPException(400, "call the researcher through the platform (it needs _agentry)")
    topic = str(payload.get("topic") or "agents")
    rest = {"then": then[1:]}
    if payload.get("stream"):
        return _stream(ctx, then[0], topic, rest)
    notes = notes_on(topic)
    return {
        "notes": notes,
        "invocation_id": ctx["invocation_id"],
        "delegated": await delegate(ctx, then[0], {"text": notes, **rest}),
    }


if __name__ == "__main__":
    app.run()

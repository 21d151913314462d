"""{name}: scaffolded from the echo template. Edit `invoke` and push with `agentry agent push`."""

from __future__ import annotations

from typing import Any

from bedrock_agentcore import BedrockAgentCoreApp

app = BedrockAgentCoreApp()


@app.entrypoint
def invoke(payload: dict[str, Any], context: Any) -> Any:
    return {{"echo": payload.get("prompt"), "session_id": context.session_id}}


if __name__ == "__main__":
    app.run()

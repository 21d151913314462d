"""Test only: the concierge (copied in beside this file as `concierge.py` by the test), whose
process dies once, after its model and tool calls and before it answers, so the job retries.

The first attempt leaves `payload["crash_marker"]` behind; later attempts answer normally.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import concierge  # type: ignore[import-not-found]
from bedrock_agentcore import BedrockAgentCoreApp

app = BedrockAgentCoreApp()


@app.entrypoint
async def invoke(payload: dict[str, Any]) -> dict[str, Any]:
    answer: dict[str, Any] = await concierge.invoke(payload)
    marker = Path(payload["crash_marker"])
    if not marker.exists():
        marker.write_text(str(os.getpid()))
        os._exit(1)  # no answer: to the platform, the agent process is gone
    return answer


if __name__ == "__main__":
    app.run()

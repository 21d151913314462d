from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

SESSION_ID_PATTERN = r"^[A-Za-z0-9._:-]{1,200}$"
ALIAS_PATTERN = r"^[a-zA-Z][a-zA-Z0-9_]{0,47}$"


class InvokeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    input: Any = Field(..., description="The payload the agent receives, unchanged.")
    session_id: str | None = Field(
        None,
        pattern=SESSION_ID_PATTERN,
        description="Reuse a conversation. Scoped to your tenant; omit to use a pooled session.",
    )
    alias: str = Field("live", pattern=ALIAS_PATTERN, description="Which alias to call.")


class Usage(BaseModel):
    runtime_ms: int


class InvokeResponse(BaseModel):
    invocation_id: str
    session_id: str
    agent: str
    version: int
    output: Any
    usage: Usage


class StreamCancel(BaseModel):
    invocation_id: str
    status: str = Field(
        description="cancelled (its terminal event is stored), ended (it ended on its own "
        "meanwhile) or cancelling (another replica runs it and has not confirmed yet; 202)."
    )

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

from agentry.llm.schemas import ChatRequest, Completion


class Provider(Protocol):
    name: str

    async def complete(self, model: str, request: ChatRequest) -> Completion: ...

    def stream(self, model: str, request: ChatRequest) -> AsyncIterator[str | Completion]:
        """Yield text deltas as they come, then the final Completion (with usage)."""
        ...

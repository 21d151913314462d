from __future__ import annotations

from pydantic import BaseModel


class AliasRead(BaseModel):
    name: str
    version: int


class AgentRead(BaseModel):
    name: str
    description: str
    modes: list[str]
    aliases: list[AliasRead]


class AgentList(BaseModel):
    items: list[AgentRead]

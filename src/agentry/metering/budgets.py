"""Per-invocation budgets, counted from the usage table (the durable, billed record).

The first call of an invocation that this process sees loads what the invocation has recorded
so far (one query); after that, only usage this process newly records is added, so the hot path
reads no database. A restart forgets nothing.

A call whose usage is recorded already (a retried job replaying its conversation) is not
charged again: it draws on a separate allowance of one budget per invocation in this process,
so a retry can redo what the attempt it replaces did, and an agent repeating one request over
and over cannot consume without bound.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from prometheus_client import Counter

DENIALS = Counter(
    "agentry_budget_denials_total",
    "Work refused for a spent budget: the tenant's monthly budget (monthly, 402) or one "
    "invocation's model tokens or tool calls",
    ["tenant", "budget"],
)


@dataclass
class Spent:
    tokens: int = 0
    tool_calls: int = 0
    keys: set[str] = field(default_factory=set)  # metering keys recorded (replays match them)
    replayed_tokens: int = 0  # in this process only
    replayed_tool_calls: int = 0

    def add(self, key: str, *, tokens: int = 0, tool_calls: int = 0) -> None:
        self.tokens += tokens
        self.tool_calls += tool_calls
        self.keys.add(key)

    def tokens_left(self, key: str, budget: int) -> int:
        if key in self.keys:
            return budget - self.replayed_tokens
        return budget - self.tokens

    def may_call_tool(self, key: str, budget: int) -> bool:
        if key in self.keys:
            return self.replayed_tool_calls < budget
        return self.tool_calls < budget


SpentLoader = Callable[[str, str], Awaitable[Spent]]  # (tenant id, invocation id)


async def _nothing(_tenant_id: str, _invocation_id: str) -> Spent:
    return Spent()


class InvocationBudgets:
    def __init__(self, load: SpentLoader = _nothing, *, size: int = 10_000) -> None:
        self._load = load
        self._size = size
        self._spent: dict[str, Spent] = {}
        self._seeding: dict[str, asyncio.Future[Spent]] = {}

    async def of(self, tenant_id: str, invocation_id: str) -> Spent:
        found = self._spent.get(invocation_id)
        if found is not None:
            return found
        # Concurrent first calls share one load, so none of them records before it is read.
        seeding = self._seeding.get(invocation_id)
        if seeding is None:
            seeding = asyncio.ensure_future(self._seed(tenant_id, invocation_id))
            self._seeding[invocation_id] = seeding
        return await asyncio.shield(seeding)

    async def _seed(self, tenant_id: str, invocation_id: str) -> Spent:
        try:
            spent = await self._load(tenant_id, invocation_id)
            if len(self._spent) >= self._size:
                del self._spent[next(iter(self._spent))]  # the oldest; reloaded if seen again
            self._spent[invocation_id] = spent
            return spent
        finally:
            del self._seeding[invocation_id]

    def used(
        self, invocation_id: str, key: str, *, new: bool, tokens: int = 0, tool_calls: int = 0
    ) -> None:
        """Usage this process has just metered; `new` when it was recorded for the first time."""
        spent = self._spent.get(invocation_id)
        if spent is None:
            return  # evicted: the next load reads it from the table
        if new:
            spent.add(key, tokens=tokens, tool_calls=tool_calls)
        else:
            spent.replayed_tokens += tokens
            spent.replayed_tool_calls += tool_calls

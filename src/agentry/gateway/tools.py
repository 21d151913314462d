"""Tool targets. Built-in ones are Python functions, external ones MCP servers an operator
registered (`gateway/targets.py`); names are AgentCore's `target___tool`."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from agentry.gateway.calculator import CalculationError, calculate
from agentry.kit.clock import utcnow

ALL_TIERS = frozenset({"basic", "standard", "premium"})
Handler = Callable[[dict[str, Any]], Awaitable[Any]]


class ToolError(Exception):
    """The tool ran and refused the input; reported as an MCP result with isError."""


@dataclass(frozen=True, slots=True)
class ToolSpec:
    target: str
    name: str
    description: str
    input_schema: dict[str, Any]
    handler: Handler = field(compare=False)
    tiers: frozenset[str] = ALL_TIERS
    # True: the handler answers with a whole MCP `CallToolResult` (an external target's).
    remote: bool = False

    @property
    def full_name(self) -> str:
        return f"{self.target}___{self.name}"

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.full_name,
            "description": self.description,
            "inputSchema": self.input_schema,
        }


class ToolCatalog:
    """The tools of every target. Built-ins are fixed; external targets come and go at runtime
    (`set_target`, `remove_target`), and readers always see the current tools."""

    def __init__(self, tools: Iterable[ToolSpec]) -> None:
        self._tools = {t.full_name: t for t in tools}
        self.builtin_targets = frozenset(t.target for t in self._tools.values())

    def get(self, name: str) -> ToolSpec | None:
        return self._tools.get(name)

    def all(self) -> list[ToolSpec]:
        return [self._tools[n] for n in sorted(self._tools)]

    def targets(self) -> set[str]:
        return {t.target for t in self._tools.values()}

    def set_target(self, target: str, tools: Iterable[ToolSpec]) -> None:
        """Replace an external target's tools (one dict swap: readers never see half)."""
        if target in self.builtin_targets:
            raise ValueError(f"'{target}' is a built-in target")
        kept = {n: t for n, t in self._tools.items() if t.target != target}
        kept.update({t.full_name: t for t in tools if t.target == target})
        self._tools = kept

    def remove_target(self, target: str) -> None:
        self.set_target(target, ())

    def default_grants(self) -> dict[str, frozenset[str]]:
        return {name: spec.tiers for name, spec in self._tools.items()}

    async def call(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        """An MCP `CallToolResult`."""
        spec = self._tools[name]
        try:
            value = await spec.handler(arguments)
            if spec.remote:
                return dict(value)
        except ToolError as exc:
            return {"content": [{"type": "text", "text": str(exc)}], "isError": True}
        return {
            "content": [{"type": "text", "text": json.dumps(value)}],
            "structuredContent": value,
            "isError": False,
        }


def builtin_catalog(clock: Callable[[], datetime] = utcnow) -> ToolCatalog:
    async def now(_args: dict[str, Any]) -> dict[str, Any]:
        return {"utc": clock().isoformat()}

    async def calc(args: dict[str, Any]) -> dict[str, Any]:
        try:
            return {"expression": args["expression"], "value": calculate(args["expression"])}
        except CalculationError as exc:
            raise ToolError(str(exc)) from exc

    async def forecast(args: dict[str, Any]) -> dict[str, Any]:
        # A deterministic toy: least-squares line through the series, extended `horizon` steps.
        series: list[float] = [float(v) for v in args["series"]]
        horizon = int(args.get("horizon", 3))
        n = len(series)
        mean_x, mean_y = (n - 1) / 2, sum(series) / n
        var = sum((x - mean_x) ** 2 for x in range(n)) or 1.0
        slope = sum((x - mean_x) * (y - mean_y) for x, y in enumerate(series)) / var
        start = mean_y - slope * mean_x
        points = [round(start + slope * (n + i), 6) for i in range(horizon)]
        return {"slope": round(slope, 6), "forecast": points}

    return ToolCatalog(
        [
            ToolSpec(
                "utility",
                "now",
                "The current UTC time.",
                {"type": "object", "properties": {}, "additionalProperties": False},
                now,
            ),
            ToolSpec(
                "utility",
                "calculate",
                "Evaluate arithmetic: numbers, parentheses and + - * / // % **.",
                {
                    "type": "object",
                    "properties": {"expression": {"type": "string", "maxLength": 200}},
                    "required": ["expression"],
                    "additionalProperties": False,
                },
                calc,
            ),
            ToolSpec(
                "insights",
                "forecast",
                "Extend a numeric series by a linear trend (premium).",
                {
                    "type": "object",
                    "properties": {
                        "series": {
                            "type": "array",
                            "items": {"type": "number"},
                            "minItems": 2,
                            "maxItems": 1000,
                        },
                        "horizon": {"type": "integer", "minimum": 1, "maximum": 100},
                    },
                    "required": ["series"],
                    "additionalProperties": False,
                },
                forecast,
                tiers=frozenset({"premium"}),
            ),
        ]
    )

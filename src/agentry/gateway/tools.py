"""Tool targets. Built-in ones are Python functions; names are AgentCore's `target___tool`."""

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
    def __init__(self, tools: Iterable[ToolSpec]) -> None:
        self._tools = {t.full_name: t for t in tools}

    def get(self, name: str) -> ToolSpec | None:
        return self._tools.get(name)

    def all(self) -> list[ToolSpec]:
        return [self._tools[n] for n in sorted(self._tools)]

    def default_grants(self) -> dict[str, frozenset[str]]:
        return {name: spec.tiers for name, spec in self._tools.items()}

    async def call(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        """An MCP `CallToolResult`."""
        spec = self._tools[name]
        try:
            value = await spec.handler(arguments)
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

"""Tier access to tools, decided by Cedar (`cedarpy`).

Entities: `Agentry::Tenant` (principal), `Agentry::Tier`, `Agentry::Agent`, `Agentry::Tool`.
The policy file is parsed once; tool grants (which tiers get a tool) live in the entity data,
rebuilt only when an operator changes a grant. A decision costs tens of microseconds.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

import cedarpy

from agentry.agent_auth.claims import InvocationClaims
from agentry.models.tenant import Tier

POLICY_VERSION = "v1"
_ACTION = 'Agentry::Action::"CallTool"'


@dataclass(frozen=True, slots=True)
class Subject:
    """Who is calling, as the invocation token says."""

    tenant_id: str
    tier: str
    agent: str
    suspended: bool = False
    agent_tools: frozenset[str] | None = None  # None: the agent did not restrict its tools

    @classmethod
    def of(cls, claims: InvocationClaims) -> Subject:
        return cls(
            tenant_id=claims.tenant_id,
            tier=claims.tier,
            agent=claims.agent,
            agent_tools=claims.tools,
        )


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    reason: str


def _ref(kind: str, id_: str) -> dict[str, Any]:
    return {"__entity": {"type": f"Agentry::{kind}", "id": id_}}


def _quote(id_: str) -> str:
    return '"' + id_.replace("\\", "\\\\").replace('"', '\\"') + '"'


class TierPolicy:
    def __init__(self, policy_text: str, grants: Mapping[str, Iterable[str]]) -> None:
        self.version = POLICY_VERSION
        self._policies = cedarpy.PolicySet.from_str(policy_text)
        self._grants: dict[str, frozenset[str]] = {}
        self._entities: cedarpy.Entities | None = None
        # Decisions depend only on these inputs, so they are memoised until grants change.
        self._memo: dict[tuple[Subject, str], Decision] = {}
        self.set_grants(grants)

    @classmethod
    def load(cls, grants: Mapping[str, Iterable[str]], version: str = POLICY_VERSION) -> TierPolicy:
        text = resources.files("agentry.gateway").joinpath(f"policies/tiers.{version}.cedar")
        policy = cls(text.read_text(), grants)
        policy.version = version
        return policy

    @property
    def grants(self) -> dict[str, frozenset[str]]:
        return dict(self._grants)

    def set_grants(self, grants: Mapping[str, Iterable[str]]) -> None:
        """Replace which tiers may use each tool (takes effect for the next decision)."""
        clean: dict[str, frozenset[str]] = {}
        for tool, tiers in grants.items():
            tiers = frozenset(tiers)
            unknown = tiers - set(Tier.__members__)
            if unknown:
                raise ValueError(f"unknown tier(s) for {tool}: {', '.join(sorted(unknown))}")
            clean[tool] = tiers
        entities: list[dict[str, Any]] = [
            {"uid": {"type": "Agentry::Tier", "id": t}, "attrs": {}, "parents": []}
            for t in Tier.__members__
        ]
        entities += [
            {
                "uid": {"type": "Agentry::Tool", "id": tool},
                "attrs": {"tiers": [_ref("Tier", t) for t in sorted(tiers)]},
                "parents": [],
            }
            for tool, tiers in sorted(clean.items())
        ]
        self._entities = cedarpy.Entities.from_json_str(json.dumps(entities))
        self._grants = clean
        self._memo = {}

    def _request(self, subject: Subject, tool: str) -> dict[str, Any]:
        tools = sorted(subject.agent_tools or ())
        return {
            "principal": f"Agentry::Tenant::{_quote(subject.tenant_id)}",
            "action": _ACTION,
            "resource": f"Agentry::Tool::{_quote(tool)}",
            "context": {
                "tier": _ref("Tier", subject.tier),
                "suspended": subject.suspended,
                "agent": _ref("Agent", subject.agent),
                "agent_restricted": subject.agent_tools is not None,
                "agent_tools": [_ref("Tool", t) for t in tools],
            },
        }

    def decide(self, subject: Subject, tool: str) -> Decision:
        memo = self._memo.get((subject, tool))
        if memo is not None:
            return memo
        if tool not in self._grants:
            return Decision(False, f"unknown tool '{tool}'")
        assert self._entities is not None
        result = cedarpy.is_authorized(self._request(subject, tool), self._policies, self._entities)
        decision = (
            Decision(True, "permitted by tier policy")
            if result.allowed
            else Decision(False, self._why(subject, tool))
        )
        if len(self._memo) > 10_000:
            self._memo.clear()
        self._memo[(subject, tool)] = decision
        return decision

    def allowed_tools(self, subject: Subject, tools: Iterable[str]) -> set[str]:
        names = [t for t in tools if t in self._grants]
        if not names:
            return set()
        assert self._entities is not None
        results = cedarpy.is_authorized_batch(
            [self._request(subject, t) for t in names], self._policies, self._entities
        )
        return {name for name, result in zip(names, results, strict=True) if result.allowed}

    def _why(self, subject: Subject, tool: str) -> str:
        if subject.suspended:
            return "tenant is suspended"
        if subject.agent_tools is not None and tool not in subject.agent_tools:
            return f"agent '{subject.agent}' does not declare '{tool}'"
        tiers = ", ".join(sorted(self._grants[tool])) or "no tier"
        return f"'{tool}' is available on {tiers}; tenant tier is {subject.tier}"

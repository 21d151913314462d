"""Decide a request against the enforced (and shadow) Cedar policy sets, in process.

Two sets can apply to a request: the platform's and the calling tenant's. Each has at most
one ENFORCE version (a deny there is final) and one LOG_ONLY version (evaluated and counted,
never enforced). With no set at all, a decision is a dictionary lookup. Decisions depend only
on the request, so they are memoised per compiled version.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import cedarpy
from prometheus_client import Counter

from agentry.kit.errors import Conflict, Forbidden, ValidationFailed
from agentry.kit.logging import get_logger
from agentry.models.policy import PLATFORM_SCOPE

log = get_logger("agentry.policy")

ACTIONS = {
    "InvokeAgent": "Agent",
    "DelegateAgent": "Agent",
    "CallTool": "Tool",
    "UseModel": "Model",
}
MAX_POLICY_CHARS = 10_000  # 6 bytes a character escaped: within a 64 KiB body limit
MEMO_LIMIT = 20_000

DECISIONS = Counter(
    "agentry_policy_decisions_total",
    "Cedar decisions of enforced policy sets",
    ["action", "outcome"],
)
DENIALS = Counter(
    "agentry_policy_denials_total",
    "Calls refused by policy, by tenant, action and source (cedar: the managed policy sets; "
    "tier: the tool gateway's tier policy)",
    ["tenant", "action", "source"],
)
SHADOW = Counter(
    "agentry_policy_shadow_decisions_total",
    "Decisions of LOG_ONLY policy versions, and whether they differ from what was enforced",
    ["scope", "changed"],
)


class PolicyInvalid(ValidationFailed):
    code = "policy_invalid"
    title = "The policy does not parse or does not validate against the schema"


class PolicyLocksOut(Conflict):
    code = "policy_locks_out_admins"
    title = "The policy would deny every action of the set's administrators"


class PolicyDenied(Forbidden):
    code = "policy_denied"
    title = "Denied by policy"


def schema_text() -> str:
    return resources.files("agentry.policy").joinpath("schema.cedarschema").read_text()


_SCHEMA = cedarpy.Schema.from_str(schema_text())


@dataclass(frozen=True, slots=True)
class Request:
    tenant_id: str
    tier: str
    action: str
    resource: str
    role: str = "member"
    agent: str = ""
    depth: int = 0
    mode: str = "sync"


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    reason: str
    scope: str | None = None
    version: int | None = None


ALLOW = Decision(True, "no policy applies")


def _quote(id_: str) -> str:
    return '"' + id_.replace("\\", "\\\\").replace('"', '\\"') + '"'


def validate(text: str) -> cedarpy.PolicySet:
    """The parsed set, or PolicyInvalid with Cedar's messages."""
    if len(text) > MAX_POLICY_CHARS:
        raise PolicyInvalid(f"A policy is at most {MAX_POLICY_CHARS} characters.")
    result = cedarpy.validate_policies(text, _SCHEMA)
    if not result.validation_passed:
        errors = [str(e) for e in result.errors][:20]
        raise PolicyInvalid("; ".join(errors)[:2000], extra={"errors": errors})
    return cedarpy.PolicySet.from_str(text)


@dataclass
class Compiled:
    number: int
    policies: cedarpy.PolicySet
    memo: dict[Request, tuple[bool, tuple[str, ...]]] = field(default_factory=dict)

    def evaluate(self, req: Request, entities: cedarpy.Entities) -> tuple[bool, tuple[str, ...]]:
        hit = self.memo.get(req)
        if hit is not None:
            return hit
        result = cedarpy.is_authorized(_cedar_request(req), self.policies, entities)
        outcome = (bool(result.allowed), tuple(result.diagnostics.reasons))
        if len(self.memo) >= MEMO_LIMIT:
            self.memo.clear()
        self.memo[req] = outcome
        return outcome


def _cedar_request(req: Request) -> dict[str, Any]:
    return {
        "principal": f"Agentry::Tenant::{_quote(req.tenant_id)}",
        "action": f'Agentry::Action::"{req.action}"',
        "resource": f"Agentry::{ACTIONS[req.action]}::{_quote(req.resource)}",
        "context": {"role": req.role, "agent": req.agent, "depth": req.depth, "mode": req.mode},
    }


@dataclass
class SetState:
    enforced: Compiled | None = None
    shadow: Compiled | None = None


@dataclass
class ShadowStats:
    evaluated: int = 0
    would_deny: int = 0  # allowed now, denied by the candidate
    would_allow: int = 0  # denied now, allowed by the candidate


def locks_out(policies: cedarpy.PolicySet, role: str) -> bool:
    """True when every action of `role` on a probe resource is denied."""
    entities = _entities("probe", "premium")
    for action in ACTIONS:
        req = Request("probe", "premium", action, "probe", role=role, mode="sync")
        if cedarpy.is_authorized(_cedar_request(req), policies, entities).allowed:
            return False
    return True


_ENTITY_CACHE: dict[tuple[str, str], cedarpy.Entities] = {}


def _entities(tenant_id: str, tier: str) -> cedarpy.Entities:
    key = (tenant_id, tier)
    found = _ENTITY_CACHE.get(key)
    if found is None:
        if len(_ENTITY_CACHE) > 10_000:
            _ENTITY_CACHE.clear()
        found = cedarpy.Entities.from_json_str(
            json.dumps(
                [
                    {
                        "uid": {"type": "Agentry::Tenant", "id": tenant_id},
                        "attrs": {"tier": tier},
                        "parents": [],
                    }
                ]
            )
        )
        _ENTITY_CACHE[key] = found
    return found


class PolicyEngine:
    def __init__(self) -> None:
        self._sets: dict[str, SetState] = {}
        self.shadow_stats: dict[tuple[str, int], ShadowStats] = {}

    def install(self, scope: str, enforced: Compiled | None, shadow: Compiled | None) -> None:
        """Replace a set's compiled versions (None, None: the set no longer applies)."""
        if enforced is None and shadow is None:
            self._sets.pop(scope, None)
            return
        current = self._sets.get(scope)
        # Keep a version's memo when it is unchanged.
        if current is not None:
            if (
                enforced is not None
                and current.enforced
                and current.enforced.number == enforced.number
            ):
                enforced = current.enforced
            if shadow is not None and current.shadow and current.shadow.number == shadow.number:
                shadow = current.shadow
        self._sets[scope] = SetState(enforced, shadow)

    def scopes(self) -> set[str]:
        return set(self._sets)

    def installed(self, scope: str) -> SetState | None:
        return self._sets.get(scope)

    def decide(self, req: Request) -> Decision:
        if not self._sets:
            return ALLOW
        decision = ALLOW
        for scope in (PLATFORM_SCOPE, req.tenant_id):
            state = self._sets.get(scope)
            if state is None:
                continue
            entities = _entities(req.tenant_id, req.tier)
            allowed = True
            if state.enforced is not None:
                allowed, reasons = state.enforced.evaluate(req, entities)
                if not allowed and decision.allowed:
                    decision = Decision(
                        False,
                        _reason(scope, state.enforced.number, reasons),
                        scope,
                        state.enforced.number,
                    )
                elif allowed and decision is ALLOW:
                    decision = Decision(
                        True,
                        f"permitted by {_label(scope)} v{state.enforced.number}",
                        scope,
                        state.enforced.number,
                    )
            if state.shadow is not None:
                self._shadow(scope, state.shadow, req, entities, allowed)
        DECISIONS.labels(req.action, "allow" if decision.allowed else "deny").inc()
        return decision

    def _shadow(
        self, scope: str, shadow: Compiled, req: Request, entities: cedarpy.Entities, now: bool
    ) -> None:
        candidate, reasons = shadow.evaluate(req, entities)
        stats = self.shadow_stats.setdefault((scope, shadow.number), ShadowStats())
        stats.evaluated += 1
        changed = candidate != now
        if changed:
            if now:
                stats.would_deny += 1
            else:
                stats.would_allow += 1
            log.info(
                "policy.shadow_changed",
                scope=_label(scope),
                version=shadow.number,
                action=req.action,
                resource=req.resource,
                tenant=req.tenant_id,
                enforced=now,
                candidate=candidate,
                policies=list(reasons),
            )
        SHADOW.labels(_label(scope), "yes" if changed else "no").inc()


def _label(scope: str) -> str:
    return "platform policy" if scope == PLATFORM_SCOPE else "tenant policy"


def _reason(scope: str, number: int, reasons: tuple[str, ...]) -> str:
    why = f"forbidden by {', '.join(reasons)}" if reasons else "no policy permits it"
    return f"{_label(scope)} v{number}: {why}"

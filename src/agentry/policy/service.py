"""Publish, shadow, enforce and roll back policy versions; apply them to this process at once.

Other API processes (and job workers) pick a change up within `REFRESH_S` by polling the sets'
last change. A denial is audited with its reason; shadow decisions are counted and logged.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agentry.audit.service import AuditLog, Outcome
from agentry.kit.clock import utcnow
from agentry.kit.errors import Conflict, NotFound
from agentry.kit.ids import new_id
from agentry.kit.logging import get_logger
from agentry.kit.periodic import Periodic
from agentry.models import PolicySet, PolicyVersion
from agentry.models.policy import PLATFORM_SCOPE
from agentry.policy.aws import Active, AgentCorePolicies, Version
from agentry.policy.engine import (
    DENIALS,
    Compiled,
    Decision,
    PolicyDenied,
    PolicyEngine,
    PolicyLocksOut,
    Request,
    locks_out,
    validate,
)
from agentry.policy.repository import (
    PolicyLoadRepository,
    PolicySetRepository,
    PolicyVersionRepository,
)

REFRESH_S = 5.0
log = get_logger("agentry.policy.service")


class PolicyVersionNotFound(NotFound):
    code = "policy_version_not_found"
    title = "No such policy version"


class NothingToRollBack(Conflict):
    code = "policy_no_previous_version"
    title = "No earlier enforced version to roll back to"


@dataclass(frozen=True, slots=True)
class Actor:
    actor: str
    tenant_id: str


class PolicyService:
    def __init__(
        self,
        maker: async_sessionmaker[AsyncSession],
        audit: AuditLog | None = None,
        engine: PolicyEngine | None = None,
        aws: AgentCorePolicies | None = None,
    ) -> None:
        self._maker = maker
        self._audit = audit
        self.aws = aws  # the platform set is also synced to AgentCore Policy (policy/aws.py)
        self.engine = engine or PolicyEngine()
        self._seen: tuple[int, datetime | None] | None = None
        self._generation = 0  # bumped by every change applied here (see refresh)
        self._poller = Periodic("policy-refresh", REFRESH_S, self.refresh)

    # loading

    async def refresh(self) -> None:
        generation = self._generation
        async with self._maker() as session:
            repo = PolicyLoadRepository(session)
            stamp = await repo.stamp()
            if stamp == self._seen:
                return
            sets = await repo.active()
        if generation != self._generation:
            # A change was applied here while this read ran: what was read may predate its
            # commit, and installing it would undo the change. The next poll reads again.
            return
        scopes = set()
        for scope, enforced, shadow, texts in sets:
            scopes.add(scope)
            self.engine.install(scope, _compile(enforced, texts), _compile(shadow, texts))
        for scope in self.engine.scopes() - scopes:
            self.engine.install(scope, None, None)
        self._seen = stamp

    def start(self) -> None:
        self._poller.start()

    async def stop(self) -> None:
        await self._poller.stop()

    # deciding

    async def check(self, req: Request, **details: Any) -> Decision:
        """The decision; a denial is audited (its own transaction) and raised."""
        decision = self.engine.decide(req)
        if decision.allowed:
            return decision
        if self._audit is not None:
            await self._audit.append_now(
                actor=f"agent:{req.agent}" if req.agent else f"tenant:{req.tenant_id}",
                action="policy.denied",
                outcome=Outcome.denied,
                actor_tenant_id=req.tenant_id,
                target_tenant_id=req.tenant_id,
                details={
                    "action": req.action,
                    "resource": req.resource,
                    "reason": decision.reason,
                    "policy_scope": "platform" if decision.scope == PLATFORM_SCOPE else "tenant",
                    "policy_version": decision.version,
                    **details,
                },
            )
        DENIALS.labels(req.tenant_id, req.action, "cedar").inc()
        raise PolicyDenied(
            f"{req.action} on '{req.resource}' denied: {decision.reason}",
            extra={"policy_version": decision.version},
        )

    # managing

    async def state(self, session: AsyncSession, scope: str) -> dict[str, Any]:
        current = await PolicySetRepository(session, scope).current()
        versions = await PolicyVersionRepository(session, scope).list()
        shadow = current.shadow_version if current else None
        stats = self.engine.shadow_stats.get((scope, shadow)) if shadow is not None else None
        return {
            "enforced_version": current.enforced_version if current else None,
            "shadow_version": shadow,
            "versions": [_version(v) for v in versions],
            "shadow_report": (
                {
                    "version": shadow,
                    "evaluated": stats.evaluated if stats else 0,
                    "would_deny": stats.would_deny if stats else 0,
                    "would_allow": stats.would_allow if stats else 0,
                }
                if shadow is not None
                else None
            ),
        }

    async def version(self, session: AsyncSession, scope: str, number: int) -> dict[str, Any]:
        found = await PolicyVersionRepository(session, scope).by_number(number)
        if found is None:
            raise PolicyVersionNotFound(f"No policy version {number}.")
        return {**_version(found), "text": found.text}

    async def publish(
        self, session: AsyncSession, scope: str, who: Actor, text: str, note: str, force: bool
    ) -> dict[str, Any]:
        policies = validate(text)
        role = "operator" if scope == PLATFORM_SCOPE else "admin"
        locked = locks_out(policies, role)
        if locked and not force:
            await self._audit_now(
                who, scope, "policy.publish", Outcome.denied, {"reason": "locks out " + role}
            )
            raise PolicyLocksOut(
                f"The policy denies every action of the {role} role; send force=true to publish"
                " it anyway."
            )
        if self.aws is not None and scope == PLATFORM_SCOPE:
            self.aws.check(text)
            await self.aws.async_ensure_engine()
        versions = PolicyVersionRepository(session, scope)
        now = utcnow()
        await PolicySetRepository(session, scope).ensure(who.actor, now)
        row = PolicyVersion(
            id=new_id("polv"),
            tenant_id=scope,
            number=await versions.next_number(),
            text=text,
            sha256=hashlib.sha256(text.encode()).hexdigest(),
            note=note,
            created_by=who.actor,
            created_at=now,
        )
        await versions.add(row)
        await self._audit_in(
            session,
            who,
            scope,
            "policy.publish",
            {"version": row.number, "sha256": row.sha256, "forced_lockout": locked},
        )
        return _version(row)

    async def shadow(
        self, session: AsyncSession, scope: str, who: Actor, number: int | None
    ) -> dict[str, Any]:
        """Run `number` in LOG_ONLY mode beside the enforced version (None: stop)."""
        found = await self._get(session, scope, number) if number is not None else None
        state = await PolicySetRepository(session, scope).ensure(who.actor, utcnow())
        was = (state.enforced_version, state.shadow_version)
        before = state.shadow_version
        state.shadow_version = found.number if found else None
        await self._changed(session, state, who, was)
        await self._audit_in(
            session, who, scope, "policy.shadow", {"from": before, "to": state.shadow_version}
        )
        return await self.state(session, scope)

    async def enforce(
        self, session: AsyncSession, scope: str, who: Actor, number: int, action: str = "enforce"
    ) -> dict[str, Any]:
        found = await self._get(session, scope, number)
        state = await PolicySetRepository(session, scope).ensure(who.actor, utcnow())
        was = (state.enforced_version, state.shadow_version)
        before = state.enforced_version
        state.enforced_version = found.number
        if state.shadow_version == found.number:
            state.shadow_version = None
        found.enforced_at = utcnow()
        await self._changed(session, state, who, was)
        await self._audit_in(
            session, who, scope, f"policy.{action}", {"from": before, "to": found.number}
        )
        return await self.state(session, scope)

    async def stop_enforcing(self, session: AsyncSession, scope: str, who: Actor) -> dict[str, Any]:
        """No version is enforced any more (a shadow version keeps being evaluated)."""
        state = await PolicySetRepository(session, scope).ensure(who.actor, utcnow())
        was = (state.enforced_version, state.shadow_version)
        before = state.enforced_version
        state.enforced_version = None
        await self._changed(session, state, who, was)
        await self._audit_in(session, who, scope, "policy.enforce", {"from": before, "to": None})
        return await self.state(session, scope)

    async def rollback(
        self, session: AsyncSession, scope: str, who: Actor, to: int | None
    ) -> dict[str, Any]:
        state = await PolicySetRepository(session, scope).current()
        current = state.enforced_version if state else None
        if to is None:
            previous = await PolicyVersionRepository(session, scope).last_enforced_before(
                current or 0
            )
            if previous is None:
                raise NothingToRollBack("No earlier version was ever enforced.")
            to = previous.number
        return await self.enforce(session, scope, who, to, action="rollback")

    async def _get(self, session: AsyncSession, scope: str, number: int) -> PolicyVersion:
        found = await PolicyVersionRepository(session, scope).by_number(number)
        if found is None:
            raise PolicyVersionNotFound(f"No policy version {number}.")
        return found

    async def _changed(
        self,
        session: AsyncSession,
        state: PolicySet,
        who: Actor,
        was: tuple[int | None, int | None],
    ) -> None:
        """Stamp the set (other processes reload it), sync the platform's to AWS (an AWS
        refusal raises and the request's transaction rolls back), and apply it here at once."""
        state.updated_at, state.updated_by = utcnow(), who.actor
        await session.flush()
        versions = PolicyVersionRepository(session, state.tenant_id)
        texts: dict[int, str] = {}
        for number in (state.enforced_version, state.shadow_version, *was):
            if number is not None and number not in texts:
                row = await versions.by_number(number)
                if row is not None:
                    texts[number] = row.text
        if self.aws is not None and state.tenant_id == PLATFORM_SCOPE:
            now = (state.enforced_version, state.shadow_version)
            if now != was:
                await self.aws.async_sync(_active(was, texts), _active(now, texts))
        self.engine.install(
            state.tenant_id,
            _compile(state.enforced_version, texts),
            _compile(state.shadow_version, texts),
        )
        # Forget what was seen: the next poll reloads (and undoes this if the request fails).
        self._seen = None
        self._generation += 1

    async def _audit_in(
        self, session: AsyncSession, who: Actor, scope: str, action: str, details: dict[str, Any]
    ) -> None:
        if self._audit is not None:
            await self._audit.append(
                session,
                actor=who.actor,
                action=action,
                actor_tenant_id=who.tenant_id,
                target_tenant_id=None if scope == PLATFORM_SCOPE else scope,
                details={"policy_scope": _scope_name(scope), **details},
            )

    async def _audit_now(
        self, who: Actor, scope: str, action: str, outcome: Outcome, details: dict[str, Any]
    ) -> None:
        if self._audit is not None:
            await self._audit.append_now(
                actor=who.actor,
                action=action,
                outcome=outcome,
                actor_tenant_id=who.tenant_id,
                target_tenant_id=None if scope == PLATFORM_SCOPE else scope,
                details={"policy_scope": _scope_name(scope), **details},
            )


def _scope_name(scope: str) -> str:
    return "platform" if scope == PLATFORM_SCOPE else "tenant"


def _active(pair: tuple[int | None, int | None], texts: dict[int, str]) -> Active:
    def one(n: int | None) -> Version | None:
        return Version(n, texts[n]) if n is not None and n in texts else None

    return Active(one(pair[0]), one(pair[1]))


def _compile(number: int | None, texts: dict[int, str]) -> Compiled | None:
    if number is None or number not in texts:
        return None
    return Compiled(number, validate(texts[number]))


def _version(v: PolicyVersion) -> dict[str, Any]:
    return {
        "number": v.number,
        "sha256": v.sha256,
        "note": v.note,
        "created_by": v.created_by,
        "created_at": v.created_at,
        "enforced_at": v.enforced_at,
    }

"""Tool grants: the catalog's default tiers, overridden by what operators set.

A change is written (and audited) in the request's transaction and applied to this process's
policy at once; other API replicas pick it up within `REFRESH_S` by polling the last change.
External tool targets (`gateway/targets.py`) ride on the same poll: when any target row
changed, the catalog is rebuilt from the table before the grants are. No restart, no deploy.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agentry.audit.service import AuditLog
from agentry.gateway.policy import TierPolicy
from agentry.gateway.repository import ToolGrantRepository, ToolTargetRepository
from agentry.gateway.targets import ToolTargets
from agentry.gateway.tools import ToolCatalog
from agentry.kit.clock import utcnow
from agentry.kit.errors import NotFound, ValidationFailed
from agentry.kit.logging import get_logger
from agentry.kit.periodic import Periodic
from agentry.models.tenant import Tier

REFRESH_S = 5.0
log = get_logger("agentry.gateway.access")


class ToolNotFound(NotFound):
    code = "tool_not_found"
    title = "No such tool"


class ToolAccess:
    def __init__(
        self,
        maker: async_sessionmaker[AsyncSession],
        catalog: ToolCatalog,
        policy: TierPolicy,
        targets: ToolTargets | None = None,
    ) -> None:
        self._maker = maker
        self.catalog = catalog
        self.policy = policy
        self.targets = targets
        self._seen: tuple[datetime | None, tuple[tuple[str, datetime], ...]] | None = None
        self._poller = Periodic("tool-grants-refresh", REFRESH_S, self.refresh)
        if targets is not None:
            targets.on_change = self._catalog_changed

    async def refresh(self) -> None:
        async with self._maker() as session:
            repo = ToolGrantRepository(session)
            targets = ToolTargetRepository(session)
            seen = (await repo.last_change(), await targets.versions())
            if seen == self._seen:
                return
            rows = await repo.list_all()
            # A grant change alone leaves the targets (and their clients) as they are.
            targets_changed = self._seen is None or seen[1] != self._seen[1]
            load = self.targets is not None and targets_changed
            target_rows = await targets.list_all() if load else None
        if self.targets is not None and target_rows is not None:
            await self.targets.apply(target_rows)
        grants = dict(self.catalog.default_grants())
        grants.update({row.tool: frozenset(row.tiers) for row in rows if row.tool in grants})
        self.policy.set_grants(grants)
        self._seen = seen

    def _catalog_changed(self) -> None:
        """A target was added, refreshed or removed in this process: new tools get their
        default tiers, kept tools keep theirs, gone tools lose theirs. The next refresh
        reloads from the database (which also undoes this if the request rolls back)."""
        current = self.policy.grants
        grants = {
            name: current.get(name, tiers) for name, tiers in self.catalog.default_grants().items()
        }
        self.policy.set_grants(grants)
        self._seen = None

    async def set_tiers(
        self,
        session: AsyncSession,
        audit: AuditLog,
        *,
        actor: str,
        actor_tenant_id: str,
        tool: str,
        tiers: list[str],
    ) -> frozenset[str]:
        if self.catalog.get(tool) is None:
            raise ToolNotFound(f"No tool named '{tool}'.")
        unknown = sorted(set(tiers) - set(Tier.__members__))
        if unknown:
            raise ValidationFailed(f"unknown tier(s): {', '.join(unknown)}")
        before = self.policy.grants.get(tool, frozenset())
        after = sorted(set(tiers))
        await ToolGrantRepository(session).upsert(tool, after, actor, utcnow())
        await audit.append(
            session,
            actor=actor,
            action="tool.grant.update",
            actor_tenant_id=actor_tenant_id,
            details={"tool": tool, "from": sorted(before), "to": after},
        )
        grants = self.policy.grants
        grants[tool] = frozenset(after)
        self.policy.set_grants(grants)
        # Applied before the commit for immediacy; forgetting what was seen makes the next
        # refresh reload from the database, which also undoes this if the request rolls back.
        self._seen = None
        return frozenset(after)

    def start(self) -> None:
        self._poller.start()

    async def stop(self) -> None:
        await self._poller.stop()
        if self.targets is not None:
            await self.targets.aclose()

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from agentry.kit.repository.base import TenantScopedRepository
from agentry.models import UsageEvent


class UsageRepository(TenantScopedRepository[UsageEvent]):
    model = UsageEvent

    async def insert_once(self, values: dict[str, Any]) -> bool:
        """Insert unless a row with the same idempotency key exists. True when inserted."""
        if values.get("tenant_id") != self.tenant_id:
            raise ValueError("usage event belongs to another tenant")
        dialect = self.session.bind.dialect.name if self.session.bind else "sqlite"
        build = pg_insert if dialect == "postgresql" else sqlite_insert
        stmt = (
            build(UsageEvent)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["idempotency_key"])
        )
        result = await self.session.execute(stmt)
        return bool(getattr(result, "rowcount", 0))

    async def count_for(self, invocation_id: str, kind: str) -> int:
        stmt = self.scoped().where(
            UsageEvent.invocation_id == invocation_id, UsageEvent.kind == kind
        )
        count = select(func.count()).select_from(stmt.subquery())
        return int((await self.session.execute(count)).scalar_one())

    async def recorded_for(
        self, invocation_id: str, kinds: Collection[str]
    ) -> list[tuple[str, int, str]]:
        """This invocation's events of these kinds: (kind, quantity, idempotency key)."""
        stmt = (
            self.scoped()
            .where(UsageEvent.invocation_id == invocation_id, UsageEvent.kind.in_(kinds))
            .with_only_columns(UsageEvent.kind, UsageEvent.quantity, UsageEvent.idempotency_key)
        )
        rows = await self.session.execute(stmt)
        return [(kind, int(quantity), key) for kind, quantity, key in rows.all()]

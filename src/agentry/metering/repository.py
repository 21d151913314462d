from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import func, select

from agentry.kit.repository.base import (
    TenantScopedRepository,
    insert_many_unless_exists,
    insert_unless_exists,
)
from agentry.models import UsageEvent


class UsageRepository(TenantScopedRepository[UsageEvent]):
    model = UsageEvent

    async def insert_once(self, values: dict[str, Any]) -> bool:
        """Insert unless a row with the same idempotency key exists. True when inserted."""
        if values.get("tenant_id") != self.tenant_id:
            raise ValueError("usage event belongs to another tenant")
        return await insert_unless_exists(self.session, UsageEvent, values, key="idempotency_key")

    async def insert_many_once(self, rows: list[dict[str, Any]]) -> None:
        """`insert_once` for many rows (one statement); a repeated key is skipped."""
        if any(r.get("tenant_id") != self.tenant_id for r in rows):
            raise ValueError("usage event belongs to another tenant")
        await insert_many_unless_exists(self.session, UsageEvent, rows, key="idempotency_key")

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

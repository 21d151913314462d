"""Repository bases. All SQL lives in repositories; tenant scoping lives here, not in handlers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Generic, TypeVar

from sqlalchemy import Select, delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from agentry.kit.db.base import Base

M = TypeVar("M", bound=Base)


async def insert_unless_exists(
    session: AsyncSession, model: type[Base], values: dict[str, Any], *, key: str
) -> bool:
    """INSERT ... ON CONFLICT (`key`) DO NOTHING, on PostgreSQL and SQLite alike (the two
    dialects build the statement with their own `insert`). True when the row was inserted."""
    dialect = session.bind.dialect.name if session.bind else "sqlite"
    build = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = build(model).values(**values).on_conflict_do_nothing(index_elements=[key])
    result = await session.execute(stmt)
    return bool(getattr(result, "rowcount", 0))


async def insert_many_unless_exists(
    session: AsyncSession, model: type[Base], rows: Sequence[dict[str, Any]], *, key: str
) -> None:
    """`insert_unless_exists` for many rows with the same columns: one executemany."""
    if not rows:
        return
    dialect = session.bind.dialect.name if session.bind else "sqlite"
    build = pg_insert if dialect == "postgresql" else sqlite_insert
    await session.execute(build(model).on_conflict_do_nothing(index_elements=[key]), list(rows))


class RepositoryBase(Generic[M]):
    """For platform-owned tables (tenants, agents). Never for tenant-owned rows."""

    model: ClassVar[type[Any]]

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, id_: str) -> M | None:
        obj: M | None = await self.session.get(self.model, id_)
        return obj

    async def add(self, obj: M) -> M:
        self.session.add(obj)
        await self.session.flush()
        return obj


class TenantScopedRepository(Generic[M]):
    """For tenant-owned tables. Every statement starts from `scoped()`, which filters by tenant.

    The scoping check (`kit/scoping.py`, run by `make lint` and tests/kit/test_scoping.py)
    fails when a query on a tenant-owned table is built outside such a class.
    """

    model: ClassVar[type[Any]]

    def __init__(self, session: AsyncSession, tenant_id: str) -> None:
        self.session = session
        self.tenant_id = tenant_id

    def scoped(self) -> Select[M]:
        return select(self.model).where(self.model.tenant_id == self.tenant_id)

    async def get(self, id_: str) -> M | None:
        result = await self.session.execute(self.scoped().where(self.model.id == id_))
        return result.scalar_one_or_none()

    async def add(self, obj: M) -> M:
        if getattr(obj, "tenant_id", None) != self.tenant_id:
            raise ValueError("object belongs to another tenant")
        self.session.add(obj)
        await self.session.flush()
        return obj

    async def delete_all(self) -> int:
        """Every row of this tenant (tenant erasure)."""
        result = await self.session.execute(
            delete(self.model).where(self.model.tenant_id == self.tenant_id)
        )
        return int(getattr(result, "rowcount", 0) or 0)

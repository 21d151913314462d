from __future__ import annotations

from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agentry.kit.db.engine import session_scope
from agentry.metering.repository import UsageRepository
from agentry.metering.service import RUNTIME_MS, Price, record_runtime
from tests.factories import make_tenant


async def test_runtime_recorded_exactly_once(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with session_scope(sessionmaker) as s:
        tenant = await make_tenant(s)
    results = []
    for ms in (120, 340):  # a retry reports again: ignored
        async with session_scope(sessionmaker) as s:
            results.append(
                await record_runtime(
                    s,
                    tenant_id=tenant.id,
                    agent_id="agt_x",
                    version_number=1,
                    invocation_id="job_1",
                    runtime_ms=ms,
                    price=Price(Decimal("0.00001")),
                )
            )
    assert results == [True, False]
    async with sessionmaker() as s:
        repo = UsageRepository(s, tenant.id)
        assert await repo.count_for("job_1", RUNTIME_MS) == 1
        [row] = (await s.execute(repo.scoped())).scalars().all()
        assert row.quantity == 120
        assert row.cost == Decimal("0.0012")

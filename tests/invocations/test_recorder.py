"""The group-commit recorder (invocations/recorder.py): on SQLite it writes with the stdlib
driver and prepared tuples; rows must read back through SQLAlchemy exactly as the ORM path
would have stored them (both backends run the same assertions)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from agentry.invocations.recorder import InvocationRecorder
from agentry.kit.db.engine import session_scope
from agentry.models import StreamEvent, UsageEvent
from agentry.testing.inproc import InProcApp


def _usage(tenant_id: str, key: str, **extra: object) -> dict[str, object]:
    row: dict[str, object] = {
        "tenant_id": tenant_id,
        "agent_id": "agt_x",
        "version_number": 3,
        "invocation_id": "inv_1",
        "kind": "runtime_ms",
        "quantity": 1234,
        "idempotency_key": key,
    }
    row.update(extra)
    return row


async def test_rows_read_back_as_written_with_defaults_filled(
    api: InProcApp, database_url: str
) -> None:
    acme = await api.tenant("acme")
    globex = await api.tenant("globex")
    maker = api.platform.sessionmaker
    recorder = InvocationRecorder(maker, database_url, table=StreamEvent)
    recorder.start()
    at = datetime(2026, 12, 3, 14, 0, 0, 123456, tzinfo=UTC)
    try:
        await recorder.record(
            {
                "invocation_id": "inv_1",
                "seq": 1,
                "tenant_id": acme.id,
                "event": "chunk",
                "data": '{"text":"é"}',
                "created_at": at,
            },
            wait=True,
            companions=[
                (
                    UsageEvent,
                    _usage(acme.id, "k1", unit_price=Decimal("0.000001234"), cost=Decimal("1.5")),
                ),
                (UsageEvent, _usage(globex.id, "k2", at=at + timedelta(hours=1))),
            ],
        )
        # No created_at: the column's Python default (utcnow) is applied.
        before = datetime.now(UTC)
        await recorder.record(
            {"invocation_id": "inv_1", "seq": 2, "tenant_id": acme.id, "event": "end", "data": ""},
            wait=True,
        )
    finally:
        await recorder.stop()
    async with session_scope(maker) as session:
        events = (await session.scalars(select(StreamEvent).order_by(StreamEvent.seq))).all()
        usage = (await session.scalars(select(UsageEvent).order_by(UsageEvent.id))).all()
    assert [(e.seq, e.event, e.data, e.tenant_id) for e in events] == [
        (1, "chunk", '{"text":"é"}', acme.id),
        (2, "end", "", acme.id),
    ]
    assert events[0].created_at == at
    assert before - timedelta(seconds=1) <= events[1].created_at <= datetime.now(UTC)
    assert [(u.tenant_id, u.idempotency_key, u.quantity) for u in usage] == [
        (acme.id, "k1", 1234),
        (globex.id, "k2", 1234),
    ]
    assert usage[0].unit_price == Decimal("0.000001234")
    assert usage[0].cost == Decimal("1.5")
    assert usage[1].unit_price == Decimal(0)  # defaults
    assert usage[1].model is None
    assert usage[1].at == at + timedelta(hours=1)
    assert usage[1].id == usage[0].id + 1


async def test_a_failing_batch_commits_nothing_and_reports_to_the_waiter(
    api: InProcApp, database_url: str
) -> None:
    acme = await api.tenant("acme")
    maker = api.platform.sessionmaker
    recorder = InvocationRecorder(maker, database_url, table=UsageEvent)
    recorder.start()
    try:
        await recorder.record(_usage(acme.id, "dup"), wait=True)
        # One batch: a fresh row, then one whose idempotency key is taken.
        with pytest.raises(Exception, match=r"(?i)unique|duplicate"):
            await recorder.record(
                _usage(acme.id, "fresh"),
                wait=True,
                companions=[(UsageEvent, _usage(acme.id, "dup"))],
            )
        await recorder.record(_usage(acme.id, "after"), wait=True)  # the writer goes on
    finally:
        await recorder.stop()
    async with session_scope(maker) as session:
        keys = (await session.scalars(select(UsageEvent.idempotency_key))).all()
    assert sorted(keys) == ["after", "dup"]

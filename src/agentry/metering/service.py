"""Record usage. Callers pass an idempotency key per event; a repeat is silently ignored."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from agentry.kit.clock import utcnow
from agentry.metering.repository import UsageRepository

RUNTIME_MS = "runtime_ms"
PriceBook = Mapping[str, Mapping[str, str]]  # tier -> kind -> unit price (decimal string)


def unit_price(prices: PriceBook, tier: str, kind: str) -> Decimal:
    return Decimal(prices.get(tier, {}).get(kind, "0"))


def usage_row(
    *,
    tenant_id: str,
    agent_id: str,
    version_number: int,
    invocation_id: str,
    kind: str,
    quantity: int,
    idempotency_key: str,
    model: str | None = None,
    unit_price: Decimal = Decimal(0),
) -> dict[str, Any]:
    return {
        "tenant_id": tenant_id,
        "agent_id": agent_id,
        "version_number": version_number,
        "invocation_id": invocation_id,
        "kind": kind,
        "model": model,
        "quantity": quantity,
        "unit_price": unit_price,
        "cost": unit_price * quantity,
        "idempotency_key": idempotency_key,
        "at": utcnow(),
    }


def runtime_key(invocation_id: str) -> str:
    return f"{invocation_id}:{RUNTIME_MS}"


async def record_usage(session: AsyncSession, row: dict[str, Any]) -> bool:
    """A `usage_row` in the caller's transaction; True when this call recorded the event."""
    return await UsageRepository(session, str(row["tenant_id"])).insert_once(row)


async def record_runtime(
    session: AsyncSession,
    *,
    tenant_id: str,
    agent_id: str,
    version_number: int,
    invocation_id: str,
    runtime_ms: int,
    unit_price: Decimal,
) -> bool:
    """An invocation's runtime, once per invocation whatever the number of attempts."""
    return await record_usage(
        session,
        usage_row(
            tenant_id=tenant_id,
            agent_id=agent_id,
            version_number=version_number,
            invocation_id=invocation_id,
            kind=RUNTIME_MS,
            quantity=max(0, runtime_ms),
            idempotency_key=runtime_key(invocation_id),
            unit_price=unit_price,
        ),
    )

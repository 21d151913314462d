"""Record usage. Callers pass an idempotency key per event; a repeat is silently ignored."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from agentry.kit.clock import utcnow
from agentry.metering.repository import UsageRepository

RUNTIME_MS = "runtime_ms"


@dataclass(frozen=True, slots=True)
class Price:
    """The unit price applied to a usage event and the price-book row it came from."""

    amount: Decimal
    id: str | None = None  # None: the book has no price for it (the event is free)


FREE = Price(Decimal(0))


class Pricing(Protocol):
    """What recorders need of the price book (`billing.prices.PriceBook` and its cache)."""

    def price(
        self, tier: str, kind: str, *, model: str | None = None, at: datetime | None = None
    ) -> Price: ...


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
    price: Price = FREE,
    at: datetime | None = None,
) -> dict[str, Any]:
    return {
        "tenant_id": tenant_id,
        "agent_id": agent_id,
        "version_number": version_number,
        "invocation_id": invocation_id,
        "kind": kind,
        "model": model,
        "quantity": quantity,
        "unit_price": price.amount,
        "cost": price.amount * quantity,
        "price_id": price.id,
        "idempotency_key": idempotency_key,
        "at": at or utcnow(),
    }


def runtime_key(invocation_id: str) -> str:
    return f"{invocation_id}:{RUNTIME_MS}"


async def record_usage(session: AsyncSession, row: dict[str, Any]) -> bool:
    """A `usage_row` in the caller's transaction; True when this call recorded the event."""
    return await UsageRepository(session, str(row["tenant_id"])).insert_once(row)


def runtime_row(
    *,
    tenant_id: str,
    agent_id: str,
    version_number: int,
    invocation_id: str,
    runtime_ms: int,
    price: Price,
    at: datetime | None = None,
) -> dict[str, Any]:
    """An invocation's runtime as a `usage_row`, keyed once per invocation."""
    return usage_row(
        tenant_id=tenant_id,
        agent_id=agent_id,
        version_number=version_number,
        invocation_id=invocation_id,
        kind=RUNTIME_MS,
        quantity=max(0, runtime_ms),
        idempotency_key=runtime_key(invocation_id),
        price=price,
        at=at,
    )


async def record_runtime(
    session: AsyncSession,
    *,
    tenant_id: str,
    agent_id: str,
    version_number: int,
    invocation_id: str,
    runtime_ms: int,
    price: Price,
    at: datetime | None = None,
) -> bool:
    """An invocation's runtime, once per invocation whatever the number of attempts."""
    return await record_usage(
        session,
        runtime_row(
            tenant_id=tenant_id,
            agent_id=agent_id,
            version_number=version_number,
            invocation_id=invocation_id,
            runtime_ms=runtime_ms,
            price=price,
            at=at,
        ),
    )


async def record_usages(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Many `usage_row`s in the caller's transaction, one statement per tenant; a key already
    recorded is skipped, so each event is recorded once."""
    by_tenant: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_tenant.setdefault(str(row["tenant_id"]), []).append(row)
    for tenant_id, group in by_tenant.items():
        await UsageRepository(session, tenant_id).insert_many_once(group)

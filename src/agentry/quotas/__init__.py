"""Per-tier quotas: request rate, concurrent calls, payload size. See `service.QuotaService`."""

from agentry.quotas.service import (
    ConcurrencyLimited,
    QuotaService,
    RateLimited,
    Slot,
    TierPayloadTooLarge,
)

__all__ = ["ConcurrencyLimited", "QuotaService", "RateLimited", "Slot", "TierPayloadTooLarge"]

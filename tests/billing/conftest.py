from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from agentry.testing.inproc import InProcApp, running_app


@pytest.fixture
async def billing_api(database_url: str, tmp_path: Path) -> AsyncIterator[InProcApp]:
    """The API in-process with prices that may take effect at once (no scheduling lead) and
    budgets re-read on every admission (no cache window)."""
    async with running_app(
        database_url,
        tmp_path,
        auth_failure_limit="10000/minute",
        price_change_lead_s=0,
        budget_cache_s=0.000001,
        webhook_allow_private=True,
    ) as app:
        yield app

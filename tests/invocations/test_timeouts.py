"""The sync timeout: the agent's manifest limit, capped by the platform setting."""

from __future__ import annotations

from typing import Any, cast

import pytest

from agentry.invocations.service import InvocationService
from agentry.registry.routing import Route
from agentry.runtime.base import RuntimeTarget


def _route(limit: float | None) -> Route:
    return Route(
        agent_id="agt_1",
        agent_name="echo",
        alias="live",
        version_number=1,
        target=RuntimeTarget("arn"),
        allowed_tiers=frozenset(),
        modes=frozenset(),
        sync_timeout_s=limit,
    )


@pytest.mark.parametrize(("manifest", "expected"), [(None, 300.0), (20.0, 20.0), (900.0, 300.0)])
def test_agent_limit_capped_by_setting(manifest: float | None, expected: float) -> None:
    none = cast(Any, None)
    service = InvocationService(none, none, none, default_timeout_s=300.0, durable_records=False)
    assert service.sync_timeout(_route(manifest)) == expected

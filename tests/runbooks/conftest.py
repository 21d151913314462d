"""A real local platform (`agentry dev up`: API, runtime emulator, agent processes) for the
runbook tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from agentry.testing.stack import Stack, start_stack, stop_stack
from tests.runbooks.support import Operator


@pytest.fixture(scope="session")
def ops_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    home: Path = tmp_path_factory.mktemp("runbooks")
    running = start_stack(
        home,
        auth_failure_limit="10000/minute",
        webhook_allow_private="1",
        tool_target_allow_private="1",
        webhook_poll_interval_s="0.2",
        job_poll_interval_s="0.2",
        webhook_schedule_s="[0, 0.2]",
    )
    yield running
    stop_stack(running)


@pytest.fixture
def operator(ops_stack: Stack) -> Operator:
    return Operator(ops_stack)

"""RUNBOOK-012 as written, the restore drill: back up while running, write more, stop,
restore, start; the platform answers as at the backup."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentry.kit.envfile import read_env_file
from agentry.testing.stack import Stack
from tests.runbooks.pages import page
from tests.runbooks.support import Operator

pytestmark = pytest.mark.e2e


def _slugs(operator: Operator) -> set[str]:
    return {t["slug"] for t in operator.json("make ops-tenants")}


@pytest.mark.timeout(600)  # one restart of the whole platform; seconds on an idle machine
def test_runbook_012_restore_drill(ops_stack: Stack, operator: Operator, tmp_path: Path) -> None:
    steps = page("012").steps()
    assert len(steps) == 6
    backup, down, restore, up, tenants, health = steps
    shell = {"BACKUP": str(tmp_path / "agentry.db")}
    operator.make("make ops-tenant-onboard SLUG=kept NAME=Kept")
    before = _slugs(operator)

    assert "backup written" in operator.make(backup, **shell).stdout
    operator.make("make ops-tenant-onboard SLUG=lost NAME=Lost")
    assert "lost" in _slugs(operator)
    running = operator.make(restore.replace("$BACKUP", shell["BACKUP"]), ok=False)
    assert running.returncode != 0
    assert "platform_running" in running.stderr

    try:
        operator.make(down)
        unconfirmed = operator.make(f"make ops-db-restore FROM={shell['BACKUP']}", ok=False)
        assert "confirmation_required" in unconfirmed.stderr
        assert "restored from" in operator.make(restore, **shell).stdout
    finally:
        operator.make(up)
        ops_stack.creds = read_env_file(ops_stack.home / "dev.env")
    listed = operator.make(tenants).stdout
    assert "kept" in listed
    assert "lost" not in listed
    assert _slugs(operator) == before
    assert "ok" in operator.make(health).stdout

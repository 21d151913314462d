"""RUNBOOK-017 (a failed deploy): its steps are the targets the pipeline tests exercise.

The behaviour behind them runs elsewhere in the suite: `make staging-rehearsal` in
tests/pipeline/test_staging_rehearsal.py (broken build rolls back, good build passes) and the
deploy watcher's rollback in tests/pipeline/test_canary_deploy.py. Here each make line of the
page is expanded by make itself (`make -n`) to check it reaches those commands.
"""

from __future__ import annotations

import shlex
import subprocess

from agentry.testing.stack import REPO_ROOT
from tests.runbooks.pages import page


def test_each_step_expands_to_the_deploy_command_it_names() -> None:
    steps = page("017").steps()
    assert [line.split()[1] for line in steps] == ["verify-deploy", "staging-rehearsal"]
    expected = {"verify-deploy": "deploy verify", "staging-rehearsal": "deploy rehearse"}
    for line in steps:
        argv = shlex.split(line.replace("<env>", "staging"))
        dry = subprocess.run(
            [*argv[:1], "-n", *argv[1:]], cwd=REPO_ROOT, capture_output=True, text=True, check=True
        )
        commands = [c for c in dry.stdout.splitlines() if "agentry" in c and " deploy " in c]
        assert commands, dry.stdout
        assert expected[argv[1]] in commands[-1]
    rehearse = [c for c in dry.stdout.splitlines() if "deploy rehearse" in c][-1]
    assert "--build good" in rehearse  # BUILD=good from the page reaches the command

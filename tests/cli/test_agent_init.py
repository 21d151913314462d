"""`agentry agent init`: a bad name is refused before anything is written, naming the rule."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from agentry.cli.main import app as cli


def test_a_hyphenated_name_is_refused_with_the_rule_and_a_fix(tmp_path: Path) -> None:
    target = tmp_path / "my-agent"
    result = CliRunner().invoke(cli, ["agent", "init", "my-agent", "--dir", str(target)])
    assert result.exit_code == 2
    assert "a-z, 0-9 and '_'" in result.stderr
    assert "try 'my_agent'" in result.stderr
    assert not target.exists()  # nothing written, so no file to name


def test_init_then_the_scaffold_is_a_valid_agent(tmp_path: Path) -> None:
    target = tmp_path / "my_agent"
    result = CliRunner().invoke(cli, ["agent", "init", "my_agent", "--dir", str(target), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["files"] == ["agent.toml", "main.py"]
    assert 'name = "my_agent"' in (target / "agent.toml").read_text()
    again = CliRunner().invoke(cli, ["agent", "init", "my_agent", "--dir", str(target)])
    assert again.exit_code == 2  # not empty: left alone
    assert "exists" in again.stderr

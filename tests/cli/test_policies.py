"""`agentry ops policies ...` (the make targets' commands) against the real API over HTTP."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from agentry.cli.main import app as cli


def test_operator_publishes_shadows_enforces_and_rolls_back(
    api_env: dict[str, str], tmp_path: Path
) -> None:
    runner = CliRunner()

    def run(*args: str) -> tuple[int, str]:
        result = runner.invoke(cli, ["ops", "policies", *args, "--json"], env=api_env)
        return result.exit_code, result.stdout

    v1 = tmp_path / "v1.cedar"
    v1.write_text("permit(principal, action, resource);")
    v2 = tmp_path / "v2.cedar"
    v2.write_text(
        v1.read_text()
        + '\nforbid(principal, action == Agentry::Action::"UseModel", resource)'
        + ' when { principal.tier == "basic" };'
    )
    bad = tmp_path / "bad.cedar"
    bad.write_text("permit(principal, action, resource) when { principal.age > 3 };")

    code, out = run("publish", str(bad))
    assert code == 2
    assert json.loads(out)["error"]["code"] == "policy_invalid"
    for path in (v1, v2):
        code, out = run("publish", str(path), "--note", path.stem)
        assert code == 0, out
    code, out = run("enforce", "1")
    assert (code, json.loads(out)["enforced_version"]) == (0, 1)
    code, out = run("shadow", "2")
    state = json.loads(out)
    assert (state["enforced_version"], state["shadow_version"]) == (1, 2)
    assert state["shadow_report"]["evaluated"] == 0
    code, out = run("enforce", "2")
    assert json.loads(out)["shadow_version"] is None
    code, out = run("rollback")
    assert (code, json.loads(out)["enforced_version"]) == (0, 1)
    code, out = run("status")
    assert [v["note"] for v in json.loads(out)["versions"]] == ["v1", "v2"]
    code, out = run("disable")
    assert (code, json.loads(out)["enforced_version"]) == (0, None)
    code, out = run("enforce", "9")
    assert (code, json.loads(out)["error"]["code"]) == (1, "policy_version_not_found")

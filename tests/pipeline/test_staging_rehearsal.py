"""`make staging-rehearsal`: the post-deploy verification on a local blue/green deploy.

One local stack for both builds: the broken one must take the rollback path (5xx rate caught
from the green process's own /metrics, blue verified after) and make the command exit non-zero;
the good one must pass.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from agentry.cli.main import app
from agentry.delivery import rehearsal as rehearsal_mod
from agentry.delivery.verify import Metrics, Report, Smoke, parse_metrics
from agentry.testing.stack import REPO_ROOT

METRICS = """\
# HELP agentry_http_requests_total HTTP requests
agentry_http_requests_total{method="POST",route="/v1/agents/{agent}/invoke",status="200"} 8.0
agentry_http_requests_total{method="POST",route="/v1/agents/{agent}/invoke",status="502"} 2.0
agentry_http_requests_total{method="GET",route="/metrics",status="500"} 50.0
agentry_http_request_seconds_bucket{le="0.1",method="POST",route="/v1/agents/{agent}/invoke"} 7.0
agentry_http_request_seconds_bucket{le="1.0",method="POST",route="/v1/agents/{agent}/invoke"} 9.0
agentry_http_request_seconds_bucket{le="+Inf",method="POST",route="/v1/agents/{agent}/invoke"} 10.0
agentry_http_request_seconds_bucket{le="+Inf",method="GET",route="/healthz"} 99.0
"""


def test_metrics_are_read_per_status_class_without_health_routes() -> None:
    metrics = parse_metrics(METRICS)
    assert metrics.requests == {"2xx": 8.0, "5xx": 2.0}
    assert metrics.error_rate == 0.2
    assert metrics.quantile(0.5) == 0.1
    assert metrics.quantile(0.9) == 1.0
    assert metrics.quantile(0.99) == math.inf  # the slowest tenth is past the last bound
    # Only what happened between two scrapes is judged.
    later = parse_metrics(
        METRICS.replace('status="502"} 2.0', 'status="502"} 2.0').replace(
            'status="200"} 8.0', 'status="200"} 18.0'
        )
    )
    assert later.minus(metrics).requests == {"2xx": 10.0, "5xx": 0.0}
    assert Metrics().quantile(0.99) == 0.0


def test_a_slow_or_failing_report_fails_with_its_reasons() -> None:
    smokes = [Smoke("sync", True, 200, 5)]
    assert Report("u", smokes, 10, 0.0, 0.5, 0.01, 2.5).ok
    slow = Report("u", smokes, 10, 0.0, 5.0, 0.01, 2.5)
    assert not slow.ok
    assert slow.reasons() == ["p99 5.0 s > 2.5 s"]
    failing = Report("u", [Smoke("job", False, 200, 9, "job j1 failed")], 10, 0.02, 0.5, 0.01, 2.5)
    assert failing.reasons() == ["job: job j1 failed", "5xx rate 2.0% > 1.0%"]


def test_check_mode_wants_broken_rolled_back_and_good_passed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ok = Report("u", [], 1, 0.0, 0.1, 0.01, 5)
    bad = Report("u", [], 1, 0.5, 0.1, 0.01, 5)
    outcomes = {"good": rehearsal_mod.Rehearsal("good", "passed", ok)}

    def fake(builds: list[str], **_kw: object) -> list[rehearsal_mod.Rehearsal]:
        return [outcomes[b] for b in builds]

    monkeypatch.setattr(rehearsal_mod, "rehearse", fake)
    runner = CliRunner()
    outcomes["broken"] = rehearsal_mod.Rehearsal("broken", "rolled_back", bad, ok)
    args = ["deploy", "rehearse", "--build", "broken", "--build", "good"]
    assert runner.invoke(app, [*args, "--check"]).exit_code == 0
    assert runner.invoke(app, args).exit_code == 1  # a rollback is a failed deploy
    # A broken build that passed verification means the gate sees nothing: --check fails.
    outcomes["broken"] = rehearsal_mod.Rehearsal("broken", "passed", ok)
    assert runner.invoke(app, [*args, "--check"]).exit_code == 1
    # So does a rollback that leaves blue unable to serve.
    outcomes["broken"] = rehearsal_mod.Rehearsal("broken", "rolled_back", bad, bad)
    assert runner.invoke(app, [*args, "--check"]).exit_code == 1
    assert runner.invoke(app, ["deploy", "rehearse", "--build", "shiny"]).exit_code == 2


@pytest.mark.e2e
@pytest.mark.timeout(300)  # two deploys with their watch windows: ~80 s quiet, more when loaded
def test_broken_build_rolls_back_and_exits_non_zero_good_build_passes() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "agentry.cli.main", "deploy", "rehearse",
         "--build", "broken", "--build", "good", "--json"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    answer = json.loads(result.stdout)
    broken, good = answer["rehearsals"]
    assert broken["build"] == "broken"
    assert broken["outcome"] == "rolled_back"
    green = broken["green"]
    assert green["error_rate"] > 0.01  # read from the green process's /metrics
    assert any("5xx rate" in reason for reason in green["reasons"])
    assert {s["mode"] for s in green["smokes"] if not s["ok"]} >= {"sync", "stream"}
    assert broken["blue_after_rollback"]["ok"] is True
    assert good["outcome"] == "passed"
    assert good["green"]["error_rate"] == 0.0
    assert good["green"]["requests"] >= 6
    assert all(s["ok"] for s in good["green"]["smokes"])
    assert {s["mode"] for s in good["green"]["smokes"]} == {"sync", "stream", "job"}

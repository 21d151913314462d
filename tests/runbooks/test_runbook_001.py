"""RUNBOOK-001 drill: two local emulators as two runtime regions; traffic runs, one region
dies, the runbook's make targets run, the error rate is back under 1% within the target, and
a job that was running resumes in the new region from its checkpoint."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentry.testing.failover import TARGET_S, Traffic, kill_region, make, run_runbook
from agentry.testing.stack import Stack, start_stack, stop_stack

# Two emulators, the seed in both regions and four make targets: ~40 s idle, more when loaded.
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def regions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    home: Path = tmp_path_factory.mktemp("runbook-001")
    stack = start_stack(
        home,
        second_region="eu-central-1",
        runtime_region_poll_s="1",
        runtime_standby="1",
        auth_failure_limit="10000/minute",
    )
    yield stack
    stop_stack(stack)


def _job(stack: Stack, job_id: str) -> dict[str, object]:
    with stack.client(stack.acme_key) as c:
        answer: dict[str, object] = c.get(f"/v1/jobs/{job_id}").json()
        return answer


def test_region_outage_failover(regions: Stack) -> None:
    stack = regions
    status = make(stack, "ops-runtime-status", "JSON=1")
    assert status.returncode == 0, status.stderr
    assert '"active_region": "eu-west-1"' in status.stdout

    # The switch is refused without the lock (the runbook's order matters).
    refused = make(stack, "ops-runtime-region", "REGION=eu-central-1")
    assert refused.returncode != 0
    assert "failover_lock_required" in refused.stderr + refused.stdout

    traffic = Traffic(stack)
    traffic.start()
    try:
        deadline = time.monotonic() + 30
        while len(traffic.calls) < 20 and time.monotonic() < deadline:
            time.sleep(0.1)  # the sessions are up
        with stack.client(stack.acme_key) as c:
            body = {"input": {"steps": 8, "step_s": 0.5}}
            created = c.post("/v1/agents/longrun/jobs", json=body)
            assert created.status_code == 202, created.text
            job_id = created.json()["id"]
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # the job is part-way, with a checkpoint
            job = _job(stack, job_id)
            progress = job.get("progress") or {}
            if isinstance(progress, dict) and int(progress.get("step", 0)) >= 2:
                break
            time.sleep(0.1)
        else:
            pytest.fail(f"the job made no progress: {_job(stack, job_id)}")
        time.sleep(1.0)
        before, n_before = traffic.error_rate(0, time.monotonic())
        assert n_before >= 20
        assert before < 0.01, (before, n_before)

        outage = time.monotonic()
        kill_region(stack, "runtime")
        time.sleep(1.0)  # the outage is seen: calls fail
        failing, _ = traffic.error_rate(outage + 0.3, time.monotonic())
        assert failing > 0.5, failing

        marks = run_runbook(stack, "eu-central-1")
        time.sleep(4.0)  # traffic keeps running after the runbook
    finally:
        traffic.stop()

    recovered = traffic.recovered_at(outage)
    assert recovered is not None, "the error rate never went back under 1%"
    assert recovered - marks["switch"] < TARGET_S
    after, n_after = traffic.error_rate(marks["verify"])
    assert n_after > 50
    assert after < 0.01, after

    # The job resumed in eu-central-1 from its checkpoint: no step ran twice or was skipped.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and _job(stack, job_id)["status"] != "succeeded":
        time.sleep(0.2)
    job = _job(stack, job_id)
    assert job["status"] == "succeeded", job
    result = job["result"]
    assert isinstance(result, dict)
    assert result["trail"] == list(range(1, 9))
    assert result["resumed_from"] >= 2
    assert result["attempt"] == 2  # a new attempt number; the lost one was given back
    assert job["attempts"] == 2

    status = make(stack, "ops-runtime-status", "JSON=1")
    assert '"active_region": "eu-central-1"' in status.stdout
    assert '"lock": null' in status.stdout

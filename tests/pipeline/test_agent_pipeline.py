"""The agent pipeline template: its jobs' make targets, in order, against a local stack.

validate (local manifest) → golden (the platform runs the golden cases on a 'golden' alias,
live untouched; the version goes to a dotenv report) → dev (promote that version to live) →
staging (push a new version as a 10% canary). A failing golden case stops the pipeline there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from agentry.delivery import pipeline_check
from agentry.testing.stack import REPO_ROOT, Stack

TEMPLATE = REPO_ROOT / "agents" / ".gitlab-ci-agent.yml"
GOLDEN = """
[[golden]]
name = "echoes"
input = {prompt = "ping"}
contains = ["ping"]
"""


def _make(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTRY_")}
    env |= {"AGENTRY_URL": stack.url, "AGENTRY_DEVELOPER_KEY": stack.developer_key}
    return subprocess.run(
        ["make", "-s", "-C", str(REPO_ROOT), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _job_command(job: str) -> list[str]:
    """The job's make call as the template writes it, with this checkout as the platform."""
    script = pipeline_check.jobs(yaml.safe_load(TEMPLATE.read_text()))[job]["script"][0]
    _, targets = pipeline_check.make_call(script, {"AGENTRY_PLATFORM_DIR": "."})
    return targets


@pytest.mark.e2e
@pytest.mark.parametrize("stack", ["sqlite"], indirect=True)
def test_the_template_jobs_run_against_a_local_stack(stack: Stack, tmp_path: Path) -> None:
    assert _job_command("agent:validate") == ["agent-validate"]
    assert _job_command("agent:golden") == ["agent-golden"]
    assert _job_command("agent:dev") == ["agent-promote"]
    assert _job_command("agent:staging") == _job_command("agent:prod") == ["agent-push"]

    agent = tmp_path / "pipe_echo"
    shutil.copytree(REPO_ROOT / "agents" / "echo", agent)
    toml = agent / "agent.toml"
    toml.write_text(toml.read_text().replace('name = "echo"', 'name = "pipe_echo"'))
    # No golden cases: nothing to gate on, the first job fails.
    refused = _make(stack, "agent-validate", f"AGENT={agent}")
    assert refused.returncode != 0
    assert "no golden cases" in refused.stderr
    toml.write_text(toml.read_text() + GOLDEN)
    assert _make(stack, "agent-validate", f"AGENT={agent}").returncode == 0

    dotenv = tmp_path / "agent.env"
    golden = _make(stack, "agent-golden", f"AGENT={agent}", f"DOTENV={dotenv}")
    assert golden.returncode == 0, golden.stderr
    assert dotenv.read_text() == "AGENT_NAME=pipe_echo\nAGENT_VERSION=1\n"
    with stack.client(stack.developer_key) as client:
        aliases = client.get("/v1/registry/agents/pipe_echo/versions").json()["aliases"]
    assert {a["name"]: a["version"] for a in aliases} == {"golden": 1}  # live untouched

    dev = _make(stack, "agent-promote", "NAME=pipe_echo", "VERSION=1")
    assert dev.returncode == 0, dev.stderr

    (agent / "main.py").write_text((agent / "main.py").read_text() + "\n# v2\n")
    staging = _make(stack, "agent-push", f"AGENT={agent}", "CANARY=10")
    assert staging.returncode == 0, staging.stderr
    with stack.client(stack.developer_key) as client:
        aliases = client.get("/v1/registry/agents/pipe_echo/versions").json()["aliases"]
    live = next(a for a in aliases if a["name"] == "live")
    assert (live["version"], live["canary_version"], live["canary_weight"]) == (1, 2, 10)

    # A golden case the new code fails: the golden job fails and nothing moves.
    toml.write_text(toml.read_text().replace('contains = ["ping"]', 'contains = ["pong"]'))
    failed = _make(stack, "agent-golden", f"AGENT={agent}")
    assert failed.returncode != 0
    assert "golden" in failed.stderr
    with stack.client(stack.developer_key) as client:
        after = client.get("/v1/registry/agents/pipe_echo/versions").json()["aliases"]
    assert {a["name"]: a["version"] for a in after}["golden"] == 1

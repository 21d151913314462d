"""`make pipeline-check`: GitLab's schema offline, and every job one existing make target."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from agentry.delivery import pipeline_check

REPO_ROOT = Path(__file__).resolve().parents[2]
STAGES = ["validate", "test", "build", "plan", "deploy-dev", "deploy-staging", "deploy-prod"]

MAKEFILE = """\
.PHONY: lint test
lint: ## lint
\t@echo lint
test: lint
\t@echo test
include extra.mk
"""


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / "Makefile").write_text(MAKEFILE)
    (tmp_path / "extra.mk").write_text("sbom:\n\t@echo sbom\n")
    return tmp_path


def _run(repo: Path, text: str) -> subprocess.CompletedProcess[str]:
    (repo / "ci.yml").write_text(text)
    return subprocess.run(
        [sys.executable, "-m", "agentry.delivery.pipeline_check", "ci.yml"],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


GOOD = """\
stages: [validate, test]
.tmpl:
  stage: test
  script: [make test]
lint:
  stage: validate
  script: [make lint]
test:
  extends: .tmpl
sbom:
  stage: test
  script: make sbom OUT=reports/sbom.json
"""


def test_a_good_file_passes_with_targets_from_included_makefiles(repo: Path) -> None:
    result = _run(repo, GOOD)
    assert result.returncode == 0, result.stderr
    assert "every job is a make target" in result.stdout


def test_a_missing_target_fails_and_is_named(repo: Path) -> None:
    result = _run(repo, GOOD.replace("make lint", "make lint infra-synth ENV=dev"))
    assert result.returncode == 1
    assert "lint: make target 'infra-synth' is not in" in result.stderr
    # A target inherited through `extends` is checked too.
    result = _run(repo, GOOD.replace("script: [make test]", "script: [make tset]"))
    assert result.returncode == 1
    assert "test: make target 'tset'" in result.stderr


def test_broken_yaml_fails(repo: Path) -> None:
    result = _run(repo, "lint:\n  stage: validate\n  script: [make lint\n")
    assert result.returncode == 1
    assert "ci.yml: schema:" in result.stderr
    assert "parse" in result.stderr.lower()


def test_schema_violations_fail(repo: Path) -> None:
    # A misspelt keyword is invalid for GitLab; the vendored schema catches it, offline.
    result = _run(repo, GOOD.replace("  stage: validate\n", "  stage: validate\n  whenn: manual\n"))
    assert result.returncode == 1
    assert "'whenn' was unexpected" in result.stderr


@pytest.mark.parametrize(
    ("script", "message"),
    [
        ("[make lint, make test]", "exactly one make call"),
        ("['echo hi']", "not a make call"),
        ("[make]", "no target"),
        ("[make -k lint]", "make option '-k'"),
    ],
)
def test_a_script_that_is_not_one_make_target_fails(repo: Path, script: str, message: str) -> None:
    result = _run(repo, GOOD.replace("script: [make lint]", f"script: {script}"))
    assert result.returncode == 1
    assert message in result.stderr


def test_steps_hidden_in_before_script_and_unknown_stages_fail(repo: Path) -> None:
    text = GOOD.replace(
        "  stage: validate\n", "  stage: lintage\n  before_script: [pip install x]\n"
    )
    result = _run(repo, text)
    assert result.returncode == 1
    assert "stage 'lintage' is not in stages" in result.stderr
    assert "before_script: steps belong in make targets" in result.stderr


def test_make_dash_c_checks_that_directory(repo: Path) -> None:
    sub = repo / "platform"
    sub.mkdir()
    (sub / "Makefile").write_text("agent-push:\n\t@true\n")
    text = (
        "variables:\n  PLATFORM: platform\n"
        'push:\n  script: [make -C "$PLATFORM" agent-push AGENT=.]\n'
    )
    assert _run(repo, text).returncode == 0
    failed = _run(repo, text.replace("agent-push AGENT", "lint AGENT"))
    assert failed.returncode == 1
    assert "make target 'lint'" in failed.stderr


def test_the_make_target_parser_reads_the_real_makefile() -> None:
    targets = pipeline_check.make_targets(REPO_ROOT)
    assert {"lint", "test", "pipeline-check", "agent-push", "install"} <= targets
    assert "PY" not in targets  # variables are not targets


def test_the_repository_pipeline_passes_and_has_its_shape() -> None:
    problems = pipeline_check.check(REPO_ROOT / ".gitlab-ci.yml", REPO_ROOT)
    assert problems == []
    data = yaml.safe_load((REPO_ROOT / ".gitlab-ci.yml").read_text())
    assert data["stages"] == STAGES
    # Merge requests and the default branch are the pipelines this file runs.
    workflow = [rule["if"] for rule in data["workflow"]["rules"]]
    assert '$CI_PIPELINE_SOURCE == "merge_request_event"' in workflow
    assert "$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH" in workflow
    jobs = pipeline_check.jobs(data)
    for name, job in jobs.items():
        stage = job.get("stage", "test")
        deploys = stage.startswith("deploy-")
        rules = job.get("rules", [])
        # MR pipelines run validate/test/build/plan; only the default branch deploys.
        assert deploys == any("CI_DEFAULT_BRANCH" in r.get("if", "") for r in rules), name
        if stage == "deploy-prod":
            assert all(r.get("when") == "manual" for r in rules), name
            assert job.get("allow_failure") is False, name
    test_job = jobs["test"]
    assert {s["alias"] for s in test_job["services"]} == {"postgres", "redis"}
    assert test_job["artifacts"]["reports"]["junit"] == "reports/junit.xml"

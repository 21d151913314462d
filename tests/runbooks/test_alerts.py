"""Alerts as code: every rule names a runbook that names it back, uses only series the API
exposes, and the threshold rules fire on the state they describe."""

from __future__ import annotations

import re
import shutil
import subprocess

import httpx
import pytest

from agentry.testing.stack import Stack
from tests.runbooks.alerts import RULES, firing, rules
from tests.runbooks.pages import ROOT, pages


def test_every_rule_names_a_runbook_that_names_it() -> None:
    names = [r["alert"] for r in rules()]
    assert len(names) == len(set(names)) >= 10
    for rule in rules():
        page = ROOT / rule["annotations"]["runbook"]
        assert page.exists(), rule["alert"]
        assert f"`{rule['alert']}`" in page.read_text(), (rule["alert"], page.name)
        assert rule["labels"]["severity"] in {"page", "ticket"}


def test_every_alert_a_page_mentions_exists() -> None:
    known = {r["alert"] for r in rules()}
    for page in pages():
        head = page.text.split("## Steps")[0]
        for name in re.findall(r"Alerts? `([A-Z][A-Za-z]+)`", head) + re.findall(
            r"or `([A-Z][A-Za-z]+)`", head
        ):
            assert name in known, (page.path.name, name)


@pytest.mark.e2e
def test_rules_use_only_exposed_series_and_thresholds_evaluate(ops_stack: Stack) -> None:
    scrape = httpx.get(f"{ops_stack.url}/metrics", timeout=30).text
    for rule in rules():
        for series in re.findall(r"agentry_[a-z_]+", str(rule["expr"])):
            assert f"# TYPE {series.removesuffix('_total')}" in scrape, (rule["alert"], series)
    by_name = {r["alert"]: r for r in rules()}
    assert firing(by_name["ApiNotReady"], scrape) is False  # the stack is ready
    assert firing(by_name["ApiNotReady"], "agentry_ready 0.0\n") is True
    assert firing(by_name["JobsQueuedTooLong"], scrape) is False
    stuck = 'agentry_jobs_oldest_age_seconds{status="queued"} 601.0\n'
    assert firing(by_name["JobsQueuedTooLong"], stuck) is True
    assert firing(by_name["AuthFailuresHigh"], scrape) is None  # rates: Prometheus evaluates
    assert firing(by_name["WebhookDeliveriesFailing"], scrape) is False
    retrying = "agentry_webhook_deliveries_retrying 21.0\n"
    assert firing(by_name["WebhookDeliveriesFailing"], retrying) is True


NEW_IN_ISSUE_16 = ("PolicyDenialsSpike", "InvocationBudgetDenials", "CanaryRolledBack")


def test_every_alert_has_a_promtool_unit_test() -> None:
    """The rate rules are evaluated by promtool (`make alerts-check`): each must be tested
    firing there, with its runbook annotation."""
    tests = (RULES.parent / "agentry.rules.test.yml").read_text()
    for name in (*NEW_IN_ISSUE_16, "BudgetDenials", "WebhookDeliveriesFailing"):
        assert re.search(rf"alertname: {name}\n\s+exp_alerts:\n\s+- exp_labels", tests), name


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool: apt-get install prometheus")
def test_promtool_checks_the_rules_and_their_unit_tests() -> None:
    for args in (["check", "rules", RULES.name], ["test", "rules", "agentry.rules.test.yml"]):
        done = subprocess.run(
            ["promtool", *args], cwd=RULES.parent, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stdout + done.stderr

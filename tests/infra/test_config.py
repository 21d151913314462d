"""Environments and regions as configuration (no synth needed)."""

from __future__ import annotations

import pytest
from aws_cdk import aws_logs as logs

from agentry_infra.common import retention, short_region
from agentry_infra.config import ENVIRONMENTS, PLACEHOLDER_ACCOUNT, load


def test_seed_layout_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CDK_DEFAULT_ACCOUNT", raising=False)
    for name in ENVIRONMENTS:
        config = load(name)
        assert config.account == PLACEHOLDER_ACCOUNT
        assert config.home_region == "eu-west-2"
        assert config.runtime_regions == ("eu-west-1", "eu-central-1")
        assert config.runtime_accounts == (PLACEHOLDER_ACCOUNT,)
        assert config.token_issuer == f"https://api.{name}.agentry.example.com"
    assert load("prod").deletion_protection
    assert not load("dev").deletion_protection
    assert load("prod").log_retention_days > load("dev").log_retention_days


def test_overrides_from_context_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CDK_DEFAULT_ACCOUNT", "333333333333")
    assert load("dev").account == "333333333333"  # the CDK CLI's caller
    monkeypatch.setenv("AGENTRY_INFRA_RUNTIME_IN_HOME_REGION", "1")
    config = load("staging", {"second_runtime_account": "444444444444", "domain_name": "a.b.c"})
    assert config.runtime_regions == ("eu-west-2", "eu-central-1")
    assert config.runtime_accounts == ("333333333333", "444444444444")
    assert config.token_issuer == "https://a.b.c"
    # Context wins over the environment variable.
    assert load("dev", {"runtime_in_home_region": "false"}).runtime_regions[0] == "eu-west-1"


def test_unknown_environment_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown environment 'qa'"):
        load("qa")


def test_helpers() -> None:
    assert short_region("eu-central-1") == "euc1"
    assert retention(14) == logs.RetentionDays.TWO_WEEKS
    assert retention(20) == logs.RetentionDays.ONE_MONTH  # never shorter than asked


def test_the_api_canary_is_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load("dev").api_canary_percent == 0  # all at once, still blue/green
    assert (load("staging").api_canary_percent, load("staging").api_canary_minutes) == (10, 5)
    assert (load("prod").api_canary_percent, load("prod").api_canary_minutes) == (10, 10)
    assert load("dev", {"api_canary_percent": "25"}).api_canary_percent == 25
    monkeypatch.setenv("AGENTRY_INFRA_API_CANARY_MINUTES", "15")
    assert load("staging").api_canary_minutes == 15
    for bad in ({"api_canary_percent": "100"}, {"api_canary_minutes": "0"}):
        with pytest.raises(ValueError, match="api_canary_percent"):
            load("staging", bad)

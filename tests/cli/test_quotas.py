"""`agentry ops quota status|request` (make ops-quota-status / ops-quota-request): bad input is
refused before AWS is asked, the local profile points to ops-capacity, and in the aws profile
the commands go through a real boto3 client stubbed by botocore's Stubber."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from typer.testing import CliRunner

from agentry.cli import quotas as quotas_cli
from agentry.cli.main import app
from agentry.config import get_settings

CODE = "L-ABCD1234"
KEYS = {"ServiceCode": "bedrock-agentcore", "QuotaCode": CODE}


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> Iterator[None]:
    for name in list(os.environ):
        if name.startswith("AGENTRY_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AGENTRY_HOME", str(tmp_path))
    get_settings.cache_clear()  # each test's settings come from its own environment
    yield
    get_settings.cache_clear()


@pytest.fixture
def no_aws(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """AWS must not be asked: getting a client fails the test."""
    asked: list[str] = []

    def refuse(region: str) -> dict[str, Any]:
        asked.append(region)
        raise AssertionError("no AWS client expected")

    monkeypatch.setattr(quotas_cli, "_clients", refuse)
    return asked


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Stubber, list[str]]]:
    monkeypatch.setenv("AGENTRY_PROFILE", "aws")
    monkeypatch.setenv("AGENTRY_API_KEY_PEPPER", "pepper-for-tests")  # pragma: allowlist secret
    monkeypatch.setenv("AGENTRY_PUBLIC_URL", "https://agentry.example.com")
    monkeypatch.setenv("AGENTRY_RUNTIME_SESSION_QUOTA_CODE", CODE)
    monkeypatch.setenv("AGENTRY_RUNTIME_SESSION_QUOTA", "2500")
    monkeypatch.setenv("AGENTRY_AWS_REGION", "eu-west-2")
    client = boto3.client(
        "service-quotas",
        region_name="eu-west-2",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # pragma: allowlist secret
    )
    regions: list[str] = []

    def clients(region: str) -> dict[str, Any]:
        regions.append(region)
        return {"service-quotas": client}

    monkeypatch.setattr(quotas_cli, "_clients", clients)
    with Stubber(client) as stubber:
        yield stubber, regions
        stubber.assert_no_pending_responses()


def _run(*args: str) -> Any:
    return CliRunner().invoke(app, ["ops", "quota", *args])


def _expect_get(stubber: Stubber, value: float) -> None:
    quota = {"ServiceCode": "bedrock-agentcore", "QuotaCode": CODE, "Value": value,
             "QuotaName": "Active session workloads per account", "Adjustable": True}  # fmt: skip
    stubber.add_response("get_service_quota", {"Quota": quota}, KEYS)


@pytest.mark.parametrize("value", ["0", "-3", "abc", "1.5", "", "1e3", "²"])
def test_a_value_that_is_no_positive_integer_is_refused_first(
    value: str, no_aws: list[str]
) -> None:
    done = _run("request", "--", value)  # as the make target passes it
    assert done.exit_code == 2
    lines = done.stderr.strip().splitlines()
    assert lines == [f"error bad_value: VALUE must be a positive integer, not {value!r}"]
    assert no_aws == []


def test_a_bad_value_as_json(no_aws: list[str]) -> None:
    done = _run("request", "zero", "--json")
    assert done.exit_code == 2
    assert json.loads(done.stdout)["error"]["code"] == "bad_value"
    assert no_aws == []


def test_the_local_profile_has_no_service_quotas(no_aws: list[str]) -> None:
    done = _run("request", "20")
    assert done.exit_code == 1
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("error no_service_quotas: the local profile has no AWS Service Quotas")
    assert "make ops-capacity" in line
    status = _run("status", "--json")
    assert status.exit_code == 0
    assert json.loads(status.stdout) == {
        "profile": "local", "service_quotas": None, "configured_quota": 1000
    }  # fmt: skip
    assert "make ops-capacity" in _run("status").stdout
    assert no_aws == []


def test_aws_settings_that_do_not_load_are_one_line(
    monkeypatch: pytest.MonkeyPatch, no_aws: list[str]
) -> None:
    monkeypatch.setenv("AGENTRY_PROFILE", "aws")  # no pepper
    done = _run("status")
    assert done.exit_code == 2
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("error bad_settings:")
    assert "AGENTRY_API_KEY_PEPPER" in line
    assert no_aws == []


def test_not_above_the_current_quota_is_refused(aws: tuple[Stubber, list[str]]) -> None:
    stubber, regions = aws
    _expect_get(stubber, 2500.0)
    done = _run("request", "2500")
    assert done.exit_code == 1
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("error quota_value_not_above: 2500 is not above the current quota 2500")
    assert regions == ["eu-west-2"]  # the runtime region of the settings


def test_access_denied_is_one_line(aws: tuple[Stubber, list[str]]) -> None:
    stubber, _ = aws
    stubber.add_client_error(
        "get_service_quota", "AccessDeniedException", "nope", 400, expected_params=KEYS
    )
    done = _run("status")
    assert done.exit_code == 1
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("error quota_access_denied: AWS denied AccessDeniedException")


def test_a_request_is_filed_in_the_given_region(aws: tuple[Stubber, list[str]]) -> None:
    stubber, regions = aws
    _expect_get(stubber, 2500.0)
    stubber.add_response(
        "list_requested_service_quota_change_history_by_quota", {"RequestedQuotas": []}, KEYS
    )
    filed = {"Id": "r-7", "Status": "PENDING", "DesiredValue": 5000.0, "QuotaCode": CODE}
    stubber.add_response(
        "request_service_quota_increase",
        {"RequestedQuota": filed},
        KEYS | {"DesiredValue": 5000.0},
    )
    done = _run("request", "5000", "--region", "eu-central-1", "--json")
    assert done.exit_code == 0, done.output
    answer = json.loads(done.stdout)
    assert answer["ok"] is True
    assert answer["region"] == "eu-central-1"
    assert (answer["request"]["id"], answer["request"]["status"]) == ("r-7", "PENDING")
    assert regions == ["eu-central-1"]


def test_status_shows_both_quotas_and_the_requests(aws: tuple[Stubber, list[str]]) -> None:
    stubber, _ = aws
    _expect_get(stubber, 5000.0)
    history = [{"Id": "r-7", "Status": "APPROVED", "DesiredValue": 5000.0, "CaseId": "case-42"}]
    stubber.add_response(
        "list_requested_service_quota_change_history_by_quota", {"RequestedQuotas": history}, KEYS
    )
    done = _run("status")
    assert done.exit_code == 0, done.output
    assert "r-7" in done.stdout
    assert "APPROVED" in done.stdout
    assert "case-42" in done.stdout
    assert "AWS grants 5000, the platform counts 2500" in done.stdout

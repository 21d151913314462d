"""The AgentCore session quota in AWS Service Quotas: a real boto3 `service-quotas` client with
botocore's Stubber, so every request's parameters are checked against the service model and
asserted exactly; a call the code should not make fails the test (no response is queued)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from agentry.kit.errors import AgentryError
from agentry.ops.quotas import (
    QuotaAccessDenied,
    QuotaNotAdjustable,
    QuotaNotFound,
    QuotaRequestLimit,
    QuotaRequestOpen,
    QuotaTarget,
    QuotaThrottled,
    QuotaValueNotAbove,
    ServiceQuotas,
)

REGION = "eu-west-1"
SERVICE = "bedrock-agentcore"
CODE = "L-ABCD1234"
NAME = "Active session workloads per account"
BY_NAME = QuotaTarget(SERVICE, "", NAME, REGION)
BY_CODE = QuotaTarget(SERVICE, CODE, NAME, REGION)
KEYS = {"ServiceCode": SERVICE, "QuotaCode": CODE}


@pytest.fixture
def aws() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client(
        "service-quotas",
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # pragma: allowlist secret
    )
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def _quota(code: str, name: str, value: float = 2500.0, adjustable: bool = True) -> dict[str, Any]:
    return {
        "ServiceCode": SERVICE, "QuotaCode": code, "QuotaName": name, "Value": value,
        "Adjustable": adjustable, "Unit": "None", "GlobalQuota": False,
    }  # fmt: skip


def _expect_get(stubber: Stubber, value: float = 2500.0, adjustable: bool = True) -> None:
    stubber.add_response(
        "get_service_quota", {"Quota": _quota(CODE, NAME, value, adjustable)}, KEYS
    )


def _change(
    rid: str, status: str, desired: float, day: int, case: str | None = None
) -> dict[str, Any]:
    item: dict[str, Any] = {
        "Id": rid, "Status": status, "DesiredValue": desired, "ServiceCode": SERVICE,
        "QuotaCode": CODE, "QuotaName": NAME, "Requester": "arn:aws:iam::123456789012:role/ops",
        "Created": datetime(2026, 11, day, 9, 0, tzinfo=UTC),
        "LastUpdated": datetime(2026, 11, day, 10, 0, tzinfo=UTC),
    }  # fmt: skip
    if case:
        item["CaseId"] = case
    return item


def _expect_history(stubber: Stubber, *pages: list[dict[str, Any]]) -> None:
    for i, items in enumerate(pages):
        answer: dict[str, Any] = {"RequestedQuotas": items}
        if i + 1 < len(pages):
            answer["NextToken"] = f"h{i + 1}"
        params = KEYS | ({"NextToken": f"h{i}"} if i else {})
        stubber.add_response("list_requested_service_quota_change_history_by_quota", answer, params)


def test_the_quota_is_found_by_name_on_a_later_page(aws: tuple[Any, Stubber]) -> None:
    client, stubber = aws
    stubber.add_response(
        "list_service_quotas",
        {
            "Quotas": [
                _quota("L-00000001", "Total agents per account"),
                _quota("L-00000002", "Versions per agent"),
            ],
            "NextToken": "page-2",
        },
        {"ServiceCode": SERVICE},
    )
    stubber.add_response(
        "list_service_quotas",
        {"Quotas": [_quota("L-00000003", "Endpoints per agent"), _quota(CODE, NAME.upper())]},
        {"ServiceCode": SERVICE, "NextToken": "page-2"},
    )
    _expect_get(stubber, 2500.0)
    quotas = ServiceQuotas(client, BY_NAME)
    quota = quotas.quota()
    assert (quota.quota_code, quota.value, quota.adjustable) == (CODE, 2500, True)
    assert quota.region == REGION
    # Resolved once: a second look goes straight to GetServiceQuota.
    _expect_get(stubber, 3000.0)
    assert quotas.quota().value == 3000


def test_a_name_on_no_page_is_not_found_and_says_how_many_were_seen(
    aws: tuple[Any, Stubber],
) -> None:
    client, stubber = aws
    stubber.add_response(
        "list_service_quotas",
        {"Quotas": [_quota("L-00000001", "Total agents per account")], "NextToken": "p2"},
        {"ServiceCode": SERVICE},
    )
    stubber.add_response(
        "list_service_quotas",
        {"Quotas": [_quota("L-00000002", "Versions per agent")]},
        {"ServiceCode": SERVICE, "NextToken": "p2"},
    )
    with pytest.raises(QuotaNotFound) as caught:
        ServiceQuotas(client, BY_NAME).quota()
    assert "among the 2 quotas of bedrock-agentcore in eu-west-1" in caught.value.detail
    assert "AGENTRY_RUNTIME_SESSION_QUOTA_CODE" in caught.value.detail


def test_an_increase_is_filed_with_the_desired_value(aws: tuple[Any, Stubber]) -> None:
    client, stubber = aws
    _expect_get(stubber, 2500.0)
    _expect_history(
        stubber,
        [_change("r-1", "APPROVED", 2500.0, 1, "case-1")],
        [_change("r-0", "DENIED", 9000.0, 2, "case-0")],
    )
    stubber.add_response(
        "request_service_quota_increase",
        {"RequestedQuota": _change("r-2", "PENDING", 5000.0, 3)},
        KEYS | {"DesiredValue": 5000.0},
    )
    filed = ServiceQuotas(client, BY_CODE).request_increase(5000)
    assert (filed.id, filed.status, filed.desired_value, filed.case_id) == (
        "r-2", "PENDING", 5000, None
    )  # fmt: skip
    assert filed.open
    assert filed.created == "2026-11-03T09:00:00+00:00"


@pytest.mark.parametrize("value", [2500, 100])
def test_a_value_not_above_the_quota_is_refused_before_any_request(
    aws: tuple[Any, Stubber], value: int
) -> None:
    client, stubber = aws
    _expect_get(stubber, 2500.0)
    with pytest.raises(QuotaValueNotAbove) as caught:
        ServiceQuotas(client, BY_CODE).request_increase(value)
    assert caught.value.detail.startswith(f"{value} is not above the current quota 2500")


def test_a_quota_aws_does_not_adjust_is_refused(aws: tuple[Any, Stubber]) -> None:
    client, stubber = aws
    _expect_get(stubber, 2500.0, adjustable=False)
    with pytest.raises(QuotaNotAdjustable):
        ServiceQuotas(client, BY_CODE).request_increase(5000)


@pytest.mark.parametrize("status", ["PENDING", "CASE_OPENED"])
def test_no_duplicate_while_a_request_is_open(aws: tuple[Any, Stubber], status: str) -> None:
    client, stubber = aws
    _expect_get(stubber, 2500.0)
    _expect_history(
        stubber, [_change("r-0", "DENIED", 4000.0, 1), _change("r-1", status, 5000.0, 2, "c-9")]
    )
    with pytest.raises(QuotaRequestOpen) as caught:
        ServiceQuotas(client, BY_CODE).request_increase(6000)
    assert caught.value.detail.startswith(f"request r-1 for 5000 is {status} (case c-9)")


def test_access_denied_names_the_permissions(aws: tuple[Any, Stubber]) -> None:
    client, stubber = aws
    stubber.add_client_error(
        "get_service_quota", "AccessDeniedException", "not authorized", 400,
        expected_params=KEYS,
    )  # fmt: skip
    with pytest.raises(QuotaAccessDenied) as caught:
        ServiceQuotas(client, BY_CODE).request_increase(5000)
    assert caught.value.code == "quota_access_denied"
    assert "servicequotas:RequestServiceQuotaIncrease" in caught.value.detail
    assert caught.value.extra == {"aws_error": "AccessDeniedException"}


@pytest.mark.parametrize(
    ("aws_code", "kind", "code"),
    [
        ("ResourceAlreadyExistsException", QuotaRequestOpen, "quota_request_open"),
        ("QuotaExceededException", QuotaRequestLimit, "quota_request_limit"),
        ("TooManyRequestsException", QuotaThrottled, "quota_throttled"),
        ("NoSuchResourceException", QuotaNotFound, "quota_not_found"),
        ("DependencyAccessDeniedException", QuotaAccessDenied, "quota_access_denied"),
    ],
)
def test_aws_refusals_of_the_request_map_to_stable_codes(
    aws: tuple[Any, Stubber], aws_code: str, kind: type[AgentryError], code: str
) -> None:
    client, stubber = aws
    _expect_get(stubber, 2500.0)
    _expect_history(stubber, [])
    stubber.add_client_error(
        "request_service_quota_increase", aws_code, "refused", 400,
        expected_params=KEYS | {"DesiredValue": 5000.0},
    )  # fmt: skip
    with pytest.raises(kind) as caught:
        ServiceQuotas(client, BY_CODE).request_increase(5000)
    assert caught.value.code == code


def test_status_lists_every_request_newest_first(aws: tuple[Any, Stubber]) -> None:
    client, stubber = aws
    _expect_get(stubber, 2500.0)
    _expect_history(
        stubber,
        [
            _change("r-old", "APPROVED", 2500.0, 1, "case-1"),
            _change("r-new", "CASE_OPENED", 5000.0, 20, "case-3"),
        ],
        [_change("r-mid", "DENIED", 9000.0, 10, "case-2")],
    )
    found = ServiceQuotas(client, BY_CODE).status()
    assert [(r.id, r.status, r.case_id) for r in found.requests] == [
        ("r-new", "CASE_OPENED", "case-3"),
        ("r-mid", "DENIED", "case-2"),
        ("r-old", "APPROVED", "case-1"),
    ]
    assert found.open_request is not None
    assert found.open_request.id == "r-new"
    body = found.as_dict()
    assert body["quota"] == {
        "service_code": SERVICE, "quota_code": CODE, "quota_name": NAME, "region": REGION,
        "value": 2500, "adjustable": True,
    }  # fmt: skip
    assert body["open_request"]["desired_value"] == 5000
    assert [r["open"] for r in body["requests"]] == [True, False, False]

"""The AgentCore Runtime active-session quota in AWS Service Quotas (RUNBOOK-004 step 3): read
it, request an increase, follow the request.

The quota is the one named by `AGENTRY_RUNTIME_SESSION_QUOTA_CODE`, or without a code the one
whose name is `AGENTRY_RUNTIME_SESSION_QUOTA_NAME` among the service's quotas (every page of
`ListServiceQuotas`). A request is filed only above the current value and only while no request
for the quota is open (PENDING or CASE_OPENED): a duplicate would open a second support case.
Nothing here changes the platform; the granted value is set in it by RUNBOOK-004 step 4.
Request shapes are validated by botocore's Stubber in the tests; a real account was not used.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from agentry.kit.errors import (
    AgentryError,
    Conflict,
    Forbidden,
    NotFound,
    TooManyRequests,
    UpstreamError,
    ValidationFailed,
)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
OPEN = frozenset({"PENDING", "CASE_OPENED"})
PERMISSIONS = (
    "servicequotas:ListServiceQuotas, servicequotas:GetServiceQuota, "
    "servicequotas:RequestServiceQuotaIncrease, "
    "servicequotas:ListRequestedServiceQuotaChangeHistoryByQuota"
)


class NoServiceQuotas(ValidationFailed):
    code = "no_service_quotas"
    title = "The local profile has no AWS Service Quotas"


class QuotaNotFound(NotFound):
    code = "quota_not_found"
    title = "The runtime session quota is not in Service Quotas"


class QuotaValueNotAbove(ValidationFailed):
    code = "quota_value_not_above"
    title = "The requested value is not above the current quota"


class QuotaNotAdjustable(ValidationFailed):
    code = "quota_not_adjustable"
    title = "AWS does not let this quota be increased"


class QuotaRequestOpen(Conflict):
    code = "quota_request_open"
    title = "An increase request for the quota is already open"


class QuotaRequestLimit(Conflict):
    code = "quota_request_limit"
    title = "The account has too many open quota increase requests"


class QuotaRequestInvalid(ValidationFailed):
    code = "quota_request_invalid"
    title = "Service Quotas refused the request"


class QuotaAccessDenied(Forbidden):
    code = "quota_access_denied"
    title = "The AWS credentials may not use Service Quotas"


class QuotaThrottled(TooManyRequests):
    code = "quota_throttled"
    title = "Service Quotas throttled the call"


class QuotaAwsFailed(UpstreamError):
    code = "quota_aws_failed"
    title = "Service Quotas failed"


@dataclass(frozen=True, slots=True)
class QuotaTarget:
    """Which quota, where: from the settings (`from_settings`) or given."""

    service_code: str
    quota_code: str  # "": resolved by name
    quota_name: str
    region: str


@dataclass(frozen=True, slots=True)
class Quota:
    service_code: str
    quota_code: str
    quota_name: str
    region: str
    value: int
    adjustable: bool


@dataclass(frozen=True, slots=True)
class QuotaChange:
    """One increase request as Service Quotas keeps it."""

    id: str
    status: str
    desired_value: int
    case_id: str | None
    created: str | None
    last_updated: str | None
    requester: str | None

    @property
    def open(self) -> bool:
        return self.status in OPEN

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"open": self.open}

    @classmethod
    def from_aws(cls, item: dict[str, Any]) -> QuotaChange:
        return cls(
            id=str(item["Id"]),
            status=str(item.get("Status", "")),
            desired_value=int(item.get("DesiredValue", 0)),
            case_id=item.get("CaseId") or None,
            created=_iso(item.get("Created")),
            last_updated=_iso(item.get("LastUpdated")),
            requester=item.get("Requester") or None,
        )


@dataclass(frozen=True, slots=True)
class QuotaStatus:
    quota: Quota
    requests: list[QuotaChange]  # newest first

    @property
    def open_request(self) -> QuotaChange | None:
        return next((r for r in self.requests if r.open), None)

    def as_dict(self) -> dict[str, Any]:
        open_request = self.open_request
        return {
            "quota": asdict(self.quota),
            "open_request": open_request.as_dict() if open_request else None,
            "requests": [r.as_dict() for r in self.requests],
        }


def _iso(value: Any) -> str | None:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    return str(value) if value else None


def mapped(exc: Exception, target: QuotaTarget) -> AgentryError:
    """A botocore error as the platform's error, with a cause an operator can act on."""
    from botocore.exceptions import ClientError, NoCredentialsError

    if isinstance(exc, NoCredentialsError):
        return QuotaAccessDenied("no AWS credentials found (environment, profile or role)")
    if not isinstance(exc, ClientError):
        return QuotaAwsFailed(f"Service Quotas in {target.region}: {exc}"[:1000])
    error = exc.response.get("Error", {})
    code, message = str(error.get("Code", "")), str(error.get("Message", ""))
    where = f"{target.service_code} in {target.region}"
    extra = {"aws_error": code}
    if code in ("AccessDeniedException", "DependencyAccessDeniedException"):
        return QuotaAccessDenied(
            f"AWS denied {code}: the credentials need {PERMISSIONS}", extra=extra
        )
    if code == "NoSuchResourceException":
        return QuotaNotFound(
            f"no quota {target.quota_code or target.quota_name!r} in {where}: check "
            "AGENTRY_RUNTIME_SESSION_QUOTA_CODE / _SERVICE_CODE and the region",
            extra=extra,
        )
    if code == "QuotaExceededException":
        return QuotaRequestLimit(
            "the account has too many open quota increase requests; wait until one is decided",
            extra=extra,
        )
    if code == "TooManyRequestsException":
        return QuotaThrottled("Service Quotas throttled the call; retry in a minute", extra=extra)
    if code == "ResourceAlreadyExistsException":
        return QuotaRequestOpen(
            f"AWS already holds an open request for this quota in {where} "
            "(make ops-quota-status shows it)",
            extra=extra,
        )
    if code in ("IllegalArgumentException", "InvalidResourceStateException"):
        return QuotaRequestInvalid(f"Service Quotas: {code}: {message}"[:1000], extra=extra)
    return QuotaAwsFailed(
        f"Service Quotas: {code or type(exc).__name__}: {message}"[:1000], extra=extra
    )


class ServiceQuotas:
    """The runtime session quota over a boto3 `service-quotas` client of the target's region."""

    def __init__(self, client: Any, target: QuotaTarget) -> None:
        self.client = client
        self.target = target
        self._code = target.quota_code

    def _call(self, operation: str, **params: Any) -> dict[str, Any]:
        try:
            answer: dict[str, Any] = getattr(self.client, operation)(**params)
        except Exception as exc:
            raise mapped(exc, self.target) from exc
        return answer

    def quota_code(self) -> str:
        """The configured code, or the code of the quota with the configured name."""
        if self._code:
            return self._code
        wanted = self.target.quota_name.casefold()
        params: dict[str, Any] = {"ServiceCode": self.target.service_code}
        seen = 0
        while True:
            page = self._call("list_service_quotas", **params)
            for quota in page.get("Quotas", []):
                seen += 1
                if str(quota.get("QuotaName", "")).casefold() == wanted:
                    self._code = str(quota["QuotaCode"])
                    return self._code
            token = page.get("NextToken")
            if not token:
                break
            params["NextToken"] = token
        raise QuotaNotFound(
            f"no quota named {self.target.quota_name!r} among the {seen} quotas of "
            f"{self.target.service_code} in {self.target.region}: set "
            "AGENTRY_RUNTIME_SESSION_QUOTA_CODE (or _NAME)"
        )

    def quota(self) -> Quota:
        code = self.quota_code()
        found = self._call(
            "get_service_quota", ServiceCode=self.target.service_code, QuotaCode=code
        )["Quota"]
        return Quota(
            service_code=self.target.service_code,
            quota_code=code,
            quota_name=str(found.get("QuotaName", self.target.quota_name)),
            region=self.target.region,
            value=int(found.get("Value", 0)),
            adjustable=bool(found.get("Adjustable", False)),
        )

    def requests(self) -> list[QuotaChange]:
        """Every increase request for the quota, newest first."""
        params: dict[str, Any] = {
            "ServiceCode": self.target.service_code,
            "QuotaCode": self.quota_code(),
        }
        found: list[dict[str, Any]] = []
        while True:
            page = self._call("list_requested_service_quota_change_history_by_quota", **params)
            found.extend(page.get("RequestedQuotas", []))
            token = page.get("NextToken")
            if not token:
                break
            params["NextToken"] = token
        found.sort(key=lambda r: r.get("Created") or _EPOCH, reverse=True)
        return [QuotaChange.from_aws(r) for r in found]

    def status(self) -> QuotaStatus:
        return QuotaStatus(self.quota(), self.requests())

    def request_increase(self, desired: int) -> QuotaChange:
        """File the increase; refused when not above the quota or while a request is open."""
        current = self.quota()
        if desired <= current.value:
            raise QuotaValueNotAbove(
                f"{desired} is not above the current quota {current.value} "
                f"({current.quota_name}, {current.region})"
            )
        if not current.adjustable:
            raise QuotaNotAdjustable(f"{current.quota_name} in {current.region} is not adjustable")
        pending = next((r for r in self.requests() if r.open), None)
        if pending is not None:
            raise QuotaRequestOpen(
                f"request {pending.id} for {pending.desired_value} is {pending.status} "
                f"(case {pending.case_id or '-'}); no second request is filed"
            )
        filed = self._call(
            "request_service_quota_increase",
            ServiceCode=current.service_code,
            QuotaCode=current.quota_code,
            DesiredValue=float(desired),
        )
        return QuotaChange.from_aws(filed["RequestedQuota"])

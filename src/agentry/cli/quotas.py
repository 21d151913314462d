"""`agentry ops quota status|request`: the AgentCore Runtime active-session quota in AWS Service
Quotas (RUNBOOK-004 step 3), with the operator's AWS credentials (boto3's chain) in the runtime
region. The local profile has no Service Quotas: `status` says so and shows the platform's
configured quota, `request` refuses. Exit codes: 0 ok, 1 refused (`error <code>: <cause>`),
2 bad usage.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NoReturn

import typer

from agentry.cli.options import Json
from agentry.cli.output import err, group, out, print_json, table

if TYPE_CHECKING:
    from agentry.config import Settings
    from agentry.kit.errors import AgentryError
    from agentry.ops.quotas import QuotaTarget, ServiceQuotas

app = group("The AgentCore Runtime session quota in AWS Service Quotas (RUNBOOK-004).")
LOCAL_HINT = "size it with `make ops-capacity`, then set it as RUNBOOK-004 step 4 says"
Region = typer.Option(None, "--region", help="AWS region (default: the first runtime region).")


def _clients(region: str) -> dict[str, Any]:
    """AWS clients; credentials from boto3's chain (the operator's AWS login)."""
    import boto3  # type: ignore[import-untyped]

    session = boto3.session.Session(region_name=region)
    return {"service-quotas": session.client("service-quotas")}


def _fail(code: str, detail: str, as_json: bool, exit_code: int = 1) -> NoReturn:
    if as_json:
        print_json({"ok": False, "error": {"code": code, "detail": detail}})
    else:
        from rich.markup import escape

        err().print(f"[red]error[/] {code}: {escape(detail)}")
    raise typer.Exit(exit_code)


def _refused(exc: AgentryError, as_json: bool) -> NoReturn:
    _fail(exc.code, exc.detail, as_json)


def _settings(as_json: bool) -> Settings:
    from pydantic import ValidationError

    from agentry.config import get_settings

    try:
        return get_settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        _fail("bad_settings", str(first.get("msg", exc)), as_json, 2)


def _target(settings: Settings, region: str | None) -> QuotaTarget:
    from agentry.ops.quotas import QuotaTarget

    return QuotaTarget(
        service_code=settings.runtime_session_quota_service_code,
        quota_code=settings.runtime_session_quota_code,
        quota_name=settings.runtime_session_quota_name,
        region=region or settings.home_region,
    )


def _quotas(target: QuotaTarget) -> ServiceQuotas:
    from agentry.ops.quotas import ServiceQuotas

    return ServiceQuotas(_clients(target.region)["service-quotas"], target)


def _positive_int(value: str, as_json: bool) -> int:
    text = value.strip()
    if not (text.isascii() and text.isdigit()) or int(text) < 1:
        _fail("bad_value", f"VALUE must be a positive integer, not {value!r}", as_json, 2)
    return int(text)


@app.command("status")
def status(region: str | None = Region, as_json: Json = False) -> None:
    """The quota's current value in AWS, the platform's configured quota, and every increase
    request for it (pending, approved, denied; the support case)."""
    from agentry.kit.errors import AgentryError

    settings = _settings(as_json)
    if settings.profile == "local":
        configured = settings.runtime_session_quota
        if as_json:
            print_json({"profile": "local", "service_quotas": None, "configured_quota": configured})
        else:
            out().print(
                f"local profile: no AWS Service Quotas; the platform's quota is "
                f"AGENTRY_RUNTIME_SESSION_QUOTA={configured}: {LOCAL_HINT}"
            )
        return
    target = _target(settings, region)
    try:
        found = _quotas(target).status()
    except AgentryError as exc:
        _refused(exc, as_json)
    if as_json:
        print_json(found.as_dict() | {"configured_quota": settings.runtime_session_quota})
        return
    q = found.quota
    summary = table("quota", "value")
    summary.add_row("name", f"{q.quota_name} ({q.service_code} {q.quota_code})")
    summary.add_row("region", q.region)
    summary.add_row("AWS quota", f"{q.value}{'' if q.adjustable else ' (not adjustable)'}")
    summary.add_row(
        "platform's quota", f"{settings.runtime_session_quota} (AGENTRY_RUNTIME_SESSION_QUOTA)"
    )
    out().print(summary)
    rows = table("request", "status", "desired", "case", "created", "updated")
    for r in found.requests:
        rows.add_row(
            r.id, r.status, str(r.desired_value), r.case_id or "-", (r.created or "")[:19],
            (r.last_updated or "")[:19],
        )  # fmt: skip
    out().print(rows)
    pending = found.open_request
    if pending is not None:
        out().print(f"open request {pending.id}: {pending.desired_value} is {pending.status}")
    elif q.value != settings.runtime_session_quota:
        out().print(
            f"AWS grants {q.value}, the platform counts {settings.runtime_session_quota}: "
            "set AGENTRY_RUNTIME_SESSION_QUOTA (RUNBOOK-004 step 4)"
        )


@app.command("request")
def request(
    value: str = typer.Argument(..., help="The desired quota (from `make ops-capacity`)."),
    region: str | None = Region,
    as_json: Json = False,
) -> None:
    """File a Service Quotas increase to VALUE: refused unless above the current quota, and
    while a request for it is open (no duplicate support cases)."""
    from agentry.kit.errors import AgentryError

    desired = _positive_int(value, as_json)
    settings = _settings(as_json)
    if settings.profile == "local":
        from agentry.ops.quotas import NoServiceQuotas

        detail = (
            "the local profile has no AWS Service Quotas; the platform's quota is "
            f"AGENTRY_RUNTIME_SESSION_QUOTA={settings.runtime_session_quota}: {LOCAL_HINT}"
        )
        _refused(NoServiceQuotas(detail), as_json)
    target = _target(settings, region)
    try:
        filed = _quotas(target).request_increase(desired)
    except AgentryError as exc:
        _refused(exc, as_json)
    if as_json:
        print_json({"ok": True, "region": target.region, "request": filed.as_dict()})
        return
    out().print(
        f"[green]requested[/] {filed.desired_value} in {target.region}: request {filed.id} "
        f"{filed.status} (case {filed.case_id or '-'}); follow it with `make ops-quota-status`"
    )

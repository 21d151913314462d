"""Map every error to application/problem+json (RFC 9457) with a stable `code`."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from agentry.kit.context import request_id_var
from agentry.kit.errors import AgentryError
from agentry.kit.logging import get_logger

PROBLEM_CONTENT_TYPE = "application/problem+json"
_RFC6750 = "invalid_token"
log = get_logger("agentry.errors")

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


def problem(
    status: int,
    code: str,
    title: str,
    detail: str,
    *,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"https://agentry.dev/problems/{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        "request_id": request_id_var.get(),
    }
    if extra:
        body.update(extra)
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_CONTENT_TYPE)


async def _agentry_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AgentryError)
    if exc.status_code >= 500:
        log.warning("request_failed", code=exc.code, status=exc.status_code)
    headers = exc.headers
    if exc.status_code == 401 and "WWW-Authenticate" not in headers:
        # RFC 9110 §11.6.1: every 401 names its scheme (agent and tenant routes alike).
        headers = {**headers, "WWW-Authenticate": f'Bearer realm="agentry", error="{_RFC6750}"'}
    return problem(
        exc.status_code, exc.code, exc.title, exc.detail, headers=headers, extra=exc.extra
    )


def _clean_errors(errors: Any) -> list[dict[str, Any]]:
    # Echo where and what, never the submitted value (it may be a secret or payload).
    return [
        {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
        for e in errors
    ]


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = _clean_errors(exc.errors())
    if any(e["type"] == "json_invalid" for e in errors):
        return problem(
            400,
            "malformed_json",
            "Malformed JSON",
            "The request body is not valid JSON.",
            extra={"errors": errors},
        )
    return problem(
        422,
        "validation_error",
        "Request validation failed",
        "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in errors),
        extra={"errors": errors},
    )


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    return problem(
        exc.status_code,
        code,
        code.replace("_", " ").capitalize(),
        str(exc.detail),
        headers=dict(exc.headers or {}),
    )


async def _unhandled(_request: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled_error", error_type=type(exc).__name__, exc_info=exc)
    return problem(500, "internal_error", "Internal error", "An unexpected error occurred.")


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AgentryError, _agentry_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unhandled)

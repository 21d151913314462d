"""One error hierarchy. Services raise these; one handler maps them to problem+json (RFC 9457)."""

from __future__ import annotations

from typing import Any, ClassVar


class AgentryError(Exception):
    """Base of every error the platform answers with. `code` is stable and documented."""

    status_code: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"
    title: ClassVar[str] = "Internal error"

    def __init__(
        self,
        detail: str | None = None,
        *,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        self.detail = detail or self.title
        self.headers = headers or {}
        self.extra = extra or {}
        super().__init__(self.detail)


class BadRequest(AgentryError):
    status_code = 400
    code = "bad_request"
    title = "Bad request"


class ValidationFailed(AgentryError):
    status_code = 422
    code = "validation_error"
    title = "Request validation failed"


class Unauthorized(AgentryError):
    status_code = 401
    code = "unauthorized"
    title = "Missing or invalid credentials"


class Forbidden(AgentryError):
    status_code = 403
    code = "forbidden"
    title = "Not allowed"


class NotFound(AgentryError):
    status_code = 404
    code = "not_found"
    title = "Not found"


class Conflict(AgentryError):
    status_code = 409
    code = "conflict"
    title = "Conflict"


class PayloadTooLarge(AgentryError):
    status_code = 413
    code = "payload_too_large"
    title = "Payload too large"


class TooManyRequests(AgentryError):
    status_code = 429
    code = "rate_limited"
    title = "Too many requests"


class UpstreamError(AgentryError):
    status_code = 502
    code = "bad_gateway"
    title = "Upstream error"


class ServiceUnavailable(AgentryError):
    status_code = 503
    code = "service_unavailable"
    title = "Service unavailable"

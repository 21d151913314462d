from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class Problem(BaseModel):
    """RFC 9457 problem details, with a stable machine-readable `code`."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str
    code: str
    request_id: str


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {s: {"model": Problem, "content": {"application/problem+json": {}}} for s in statuses}


SECURITY_SCHEMES: dict[str, dict[str, Any]] = {
    "tenantBearer": {
        "type": "http",
        "scheme": "bearer",
        "description": "A tenant, developer or operator API key (`agk_...`), or an Entra ID "
        "access token for the platform's app registration.",
    },
    "invocationToken": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "The short-lived invocation token the platform hands an agent "
        "(`_agentry.token`); JWKS at `/.well-known/jwks.json`.",
    },
}
_PUBLIC_PREFIXES = ("/healthz", "/readyz", "/metrics", "/.well-known/", "/dev-idp/")


def with_security(schema: dict[str, Any]) -> dict[str, Any]:
    """Declare who may call each operation, so `/docs` can authorize and clients know."""
    schema.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
    for path, operations in schema.get("paths", {}).items():
        if path.startswith(_PUBLIC_PREFIXES):
            continue
        scheme = "invocationToken" if path.startswith("/agent/") else "tenantBearer"
        for operation in operations.values():
            if isinstance(operation, dict) and "responses" in operation:
                operation.setdefault("security", [{scheme: []}])
    return schema

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
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


_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}


def problems_in_document(doc: dict[str, Any]) -> dict[str, Any]:
    """Make the document say what the API does: every error is application/problem+json.

    FastAPI documents its own 422 as application/json `HTTPValidationError`; the API answers
    every 4xx/5xx with a problem (kit/problems.py). Each operation also gets a `default`
    problem response, because any route can answer 400/413/415 (kit/content.py), 401, 429
    or 500, whatever it lists.
    """
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault("Problem", Problem.model_json_schema())
    for item in doc.get("paths", {}).values():
        for op in item.values():
            if not isinstance(op, dict) or "responses" not in op:
                continue
            for status, response in op["responses"].items():
                if status[:1] in ("4", "5"):
                    response["content"] = {"application/problem+json": {"schema": _PROBLEM_REF}}
                    if status == "422":
                        response["description"] = "Validation failed (problem details)"
            op["responses"].setdefault(
                "default",
                {
                    "description": "Problem details (RFC 9457)",
                    "content": {"application/problem+json": {"schema": _PROBLEM_REF}},
                },
            )
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    return doc


def install_document(app: FastAPI) -> None:
    """Post-process the app's generated document: problems (`problems_in_document`) and security
    schemes (`with_security`). Composes with other `app.openapi` wrappers: it calls whichever
    was installed before it."""
    previous = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = with_security(problems_in_document(previous()))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

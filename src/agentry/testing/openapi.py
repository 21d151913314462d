"""Walk the app's OpenAPI document: operations, their parameters and every schema they reach.

Used by the generated checks (integer bounds, two-tenant isolation, fuzzing), so a new route
is covered without anyone editing a list. Tolerant of what the document may carry: security
schemes, header parameters, `$ref`s into `components/schemas` or a body schema's own `$defs`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from agentry.app import create_app
from agentry.config import Settings

METHODS = ("get", "post", "put", "patch", "delete")


def load_document() -> dict[str, Any]:
    doc: dict[str, Any] = create_app(Settings(profile="local"), migrate=False).openapi()
    return doc


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    spec: dict[str, Any] = field(repr=False)

    @property
    def key(self) -> str:
        return f"{self.method.upper()} {self.path}"

    @property
    def path_params(self) -> list[str]:
        return [p["name"] for p in self.spec.get("parameters", []) if p.get("in") == "path"]


def operations(doc: dict[str, Any]) -> Iterator[Operation]:
    for path, item in doc.get("paths", {}).items():
        for method in METHODS:
            op = item.get(method)
            if isinstance(op, dict):
                yield Operation(method, path, op)


def _resolve(ref: str, doc: dict[str, Any], local: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    name = ref.rsplit("/", 1)[-1]
    if ref.startswith("#/$defs/"):
        return name, local.get(name, {})
    return name, doc.get("components", {}).get("schemas", {}).get(name, {})


def integer_schemas(
    schema: Any, doc: dict[str, Any], where: str, local: dict[str, Any] | None = None
) -> Iterator[tuple[str, dict[str, Any]]]:
    """(location, schema) for every integer schema reachable from `schema`."""
    yield from _ints(schema, doc, where, local or {}, frozenset())


def _ints(
    schema: Any, doc: dict[str, Any], where: str, local: dict[str, Any], seen: frozenset[str]
) -> Iterator[tuple[str, dict[str, Any]]]:
    if not isinstance(schema, dict):
        return
    local = {**local, **schema.get("$defs", {})}
    if "$ref" in schema:
        name, target = _resolve(schema["$ref"], doc, local)
        if name not in seen:
            yield from _ints(target, doc, f"{where}->{name}", local, seen | {name})
        return
    if schema.get("type") == "integer":
        yield where, schema
    for key in ("anyOf", "oneOf", "allOf"):
        for sub in schema.get(key, []):
            yield from _ints(sub, doc, where, local, seen)
    for name, sub in (schema.get("properties") or {}).items():
        yield from _ints(sub, doc, f"{where}.{name}", local, seen)
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            yield from _ints(schema[key], doc, f"{where}[]", local, seen)


def client_integers(doc: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every integer a client can send: parameters and request bodies of every operation."""
    for op in operations(doc):
        for param in op.spec.get("parameters", []):
            where = f"{op.key} {param.get('in')}:{param.get('name')}"
            yield from integer_schemas(param.get("schema", {}), doc, where)
        content = (op.spec.get("requestBody") or {}).get("content") or {}
        for media, body in content.items():
            yield from integer_schemas(body.get("schema", {}), doc, f"{op.key} body({media})")

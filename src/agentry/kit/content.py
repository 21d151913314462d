"""What a request body may be: its media type (415 otherwise) and, for JSON, strict RFC 8259.

Checked once in `kit.middleware` before any route sees the body, so every route gets the same
rules. JSON bodies must be `application/json` (charset, when given, `utf-8`) and must parse
with orjson, which refuses `NaN`, `Infinity` and numbers that overflow a double (`1e400`):
Python's `json` would accept those and later answer them back as bare `NaN`, which is not JSON.
Routes that take something else are listed in `_RULES`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import orjson

JSON = "application/json"


@dataclass(frozen=True, slots=True)
class BodyRule:
    media_types: frozenset[str]
    json: bool = True
    missing_ok: bool = False  # a body without Content-Type is taken as the first media type


@dataclass(frozen=True, slots=True)
class BodyProblem:
    status: int
    code: str
    title: str
    detail: str


JSON_RULE = BodyRule(frozenset({JSON}))
_RULES: tuple[tuple[str, re.Pattern[str], BodyRule], ...] = (
    (
        "POST",
        re.compile(r"^/v1/registry/agents/[^/]+/versions$"),
        BodyRule(frozenset({"application/zip", "application/octet-stream"}), False, True),
    ),
    (
        "POST",
        re.compile(r"^/dev-idp/"),  # OAuth 2.0 endpoints take form posts (local profile only)
        BodyRule(frozenset({"application/x-www-form-urlencoded"}), False, True),
    ),
)


def rule_for(method: str, path: str) -> BodyRule:
    for rule_method, pattern, rule in _RULES:
        if method == rule_method and pattern.match(path):
            return rule
    return JSON_RULE


def _media_type(header: str) -> tuple[str, dict[str, str]]:
    media, *params = header.split(";")
    parsed: dict[str, str] = {}
    for param in params:
        name, _, value = param.partition("=")
        parsed[name.strip().lower()] = value.strip().strip('"').lower()
    return media.strip().lower(), parsed


def _unsupported(detail: str) -> BodyProblem:
    return BodyProblem(415, "unsupported_media_type", "Unsupported media type", detail)


def check_media_type(rule: BodyRule, content_type: str | None) -> BodyProblem | None:
    allowed = " or ".join(sorted(rule.media_types))
    if content_type is None or not content_type.strip():
        return None if rule.missing_ok else _unsupported(f"Send 'Content-Type: {allowed}'.")
    media, params = _media_type(content_type)
    if media not in rule.media_types:
        return _unsupported(f"This route takes {allowed}, not '{media[:100]}'.")
    if rule.json:
        charset = params.pop("charset", "utf-8")
        if charset != "utf-8" or params:
            return _unsupported("JSON must be UTF-8 ('application/json; charset=utf-8').")
    return None


MAX_DEPTH = 64  # Python's json (agents, the SDK) fails near 1000 levels; nothing needs 64


def _too_deep(value: object) -> bool:
    todo = [(value, 1)]
    while todo:
        item, level = todo.pop()
        if level > MAX_DEPTH:
            return True
        if isinstance(item, dict):
            todo.extend((v, level + 1) for v in item.values() if isinstance(v, dict | list))
        elif isinstance(item, list):
            todo.extend((v, level + 1) for v in item if isinstance(v, dict | list))
    return False


def check_json(body: bytes) -> BodyProblem | None:
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        return BodyProblem(
            400,
            "malformed_json",
            "Malformed JSON",
            "The request body is not valid JSON (RFC 8259). NaN, Infinity and numbers "
            "beyond double range are refused.",
        )
    # Cheap test first: a body with few brackets cannot be deep.
    if body.count(b"[") + body.count(b"{") > MAX_DEPTH and _too_deep(value):
        return BodyProblem(
            400, "json_too_deep", "JSON nested too deep", f"JSON may nest {MAX_DEPTH} levels."
        )
    return None

"""`agent.toml`: what an agent is, how it starts, and who may call it."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from agentry.kit.errors import ValidationFailed
from agentry.registry.names import AGENT_NAME, AGENT_NAME_RULE

Mode = Literal["sync", "stream", "async"]
_ENTRYPOINT = re.compile(
    r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*$"
)


class Limits(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sync_timeout_s: float = Field(300, gt=0, le=900)
    # Past one session's 8 h maximum a job continues in a new session from its checkpoint.
    job_deadline_s: int = Field(3600, gt=0, le=86400)
    idle_timeout_s: int = Field(900, ge=60, le=28800)
    max_lifetime_s: int = Field(28800, ge=60, le=28800)

    @model_validator(mode="after")
    def _idle_within_lifetime(self) -> Limits:
        if self.idle_timeout_s > self.max_lifetime_s:
            raise ValueError("idle_timeout_s must not exceed max_lifetime_s")
        return self


class GoldenCase(BaseModel):
    """One declarative check run by the health gate before an alias moves.

    `expect` is a subset match on the JSON output (dicts compare key by key, everything else
    by equality); `contains` requires the serialised output to contain each string. No code runs.
    """

    model_config = ConfigDict(extra="forbid")

    name: str = ""
    input: dict[str, Any] = Field(default_factory=dict)
    expect: Any = None
    contains: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _has_check(self) -> GoldenCase:
        if self.expect is None and not self.contains:
            raise ValueError("a golden case needs 'expect' or 'contains'")
        return self


class Manifest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    description: str = ""
    entrypoint: str = "main:app"
    requirements: list[str] = Field(default_factory=list)
    modes: list[Mode] = Field(default_factory=lambda: list[Mode](["sync", "stream"]))
    tiers: list[Literal["basic", "standard", "premium"]] = Field(
        default_factory=list, description="Tiers that may invoke the agent; empty means all."
    )
    tenants: list[str] = Field(
        default_factory=list, description="Tenant slugs that may invoke it; empty means all."
    )
    limits: Limits = Field(default_factory=Limits)
    golden: list[GoldenCase] = Field(default_factory=list)
    tools: list[str] = Field(
        default_factory=list,
        description="Gateway tools (`target___tool`) the agent uses; it may call only these.",
    )
    model: bool = Field(False, description="The agent calls the model gateway.")

    @property
    def uses_gateways(self) -> bool:
        return bool(self.tools) or self.model

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not AGENT_NAME.match(v):
            raise ValueError(f"must be {AGENT_NAME_RULE}")
        return v

    @field_validator("entrypoint")
    @classmethod
    def _entrypoint(cls, v: str) -> str:
        if not _ENTRYPOINT.match(v):
            raise ValueError("must look like 'module:attribute', e.g. 'main:app'")
        return v

    @property
    def module_file(self) -> str:
        return self.entrypoint.split(":")[0].replace(".", "/") + ".py"

    @property
    def app_attr(self) -> str:
        return self.entrypoint.split(":")[1]


class ManifestError(ValidationFailed):
    code = "invalid_manifest"
    title = "The agent manifest is invalid"


def parse_manifest(text: str, source: str = "agent.toml") -> Manifest:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ManifestError(f"{source}: {exc}") from exc
    try:
        return Manifest.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{source}{_line_of(text, e['loc'])}: field '{'.'.join(str(p) for p in e['loc'])}': "
            f"{e['msg']}"
            for e in exc.errors()
        )
        raise ManifestError(problems) from exc


def _line_of(text: str, loc: tuple[int | str, ...]) -> str:
    """`:N` for the line that sets the field (its innermost named key), when there is one."""
    names = [p for p in loc if isinstance(p, str)]
    if not names:
        return ""
    key = re.escape(names[-1])
    pattern = re.compile(rf"^\s*(\[\[?\s*{key}\s*\]\]?|{key}\s*=)")
    for number, line in enumerate(text.splitlines(), start=1):
        if pattern.match(line):
            return f":{number}"
    return ""


def load_manifest(agent_dir: Path) -> Manifest:
    path = agent_dir / "agent.toml"
    if not path.is_file():
        raise ManifestError(f"{path}: not found")
    return parse_manifest(path.read_text(), str(path))


def golden_diff(case: GoldenCase, output: Any) -> str | None:
    """None when `output` passes the case, else a short human-readable diff."""
    problems: list[str] = []
    if case.expect is not None:
        problems += _subset_diff(case.expect, output, "output")
    text = json.dumps(output, sort_keys=True, ensure_ascii=False)
    problems += [f"output does not contain {s!r}" for s in case.contains if s not in text]
    return "\n".join(problems) or None


def _subset_diff(expected: Any, actual: Any, path: str) -> list[str]:
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{path}: expected an object, got {json.dumps(actual)[:200]}"]
        out: list[str] = []
        for key, value in expected.items():
            if key not in actual:
                out.append(f"{path}.{key}: missing (expected {json.dumps(value)[:200]})")
            else:
                out += _subset_diff(value, actual[key], f"{path}.{key}")
        return out
    if expected != actual:
        return [f"{path}: expected {json.dumps(expected)[:200]}, got {json.dumps(actual)[:200]}"]
    return []

"""`make pipeline-check`: a GitLab CI file is valid and every job is one existing make target.

Two checks, both offline:
- the file against GitLab's CI JSON schema (check-jsonschema's vendored copy, no download);
- every job's `script` is a single `make [-C DIR] TARGET... [VAR=value...]` line, each TARGET
  is a target of that directory's Makefile (read from `make -pRrq`, so included files and
  pattern-free rules all count), and each job's stage is one of `stages`.

Exit 0 when both pass, 1 with one line per problem otherwise.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

# Top-level keys that are not jobs (https://docs.gitlab.com/ci/yaml/#global-keywords).
GLOBAL_KEYS = frozenset(
    {
        "default",
        "include",
        "stages",
        "variables",
        "workflow",
        "image",
        "services",
        "cache",
        "before_script",
        "after_script",
        "spec",
    }
)
DEFAULT_STAGES = ("build", "test", "deploy")
_TARGET_LINE = re.compile(r"^([^\s#:=][^:=]*?):(?!=)")
_VAR = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?")


@dataclass(frozen=True)
class Problem:
    file: str
    job: str
    detail: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.job}" if self.job else self.file
        return f"{where}: {self.detail}"


def schema_problems(path: Path) -> list[Problem]:
    """GitLab's CI schema, vendored in check-jsonschema (it never fetches)."""
    tool = Path(sys.executable).parent / "check-jsonschema"
    result = subprocess.run(
        [str(tool), "--builtin-schema", "vendor.gitlab-ci", "--output-format", "text", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode == 0:
        return []
    lines = [ln.strip() for ln in (result.stdout + result.stderr).splitlines() if ln.strip()]
    return [Problem(str(path), "", "schema: " + " | ".join(lines[:20]))]


def make_targets(directory: Path) -> set[str]:
    """Every target make knows in `directory` (its Makefile and whatever that includes)."""
    result = subprocess.run(
        ["make", "-C", str(directory), "-pRrq", "--no-print-directory"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    targets: set[str] = set()
    not_a_target = False
    for line in result.stdout.splitlines():
        if line.startswith("# Not a target"):
            not_a_target = True
            continue
        match = _TARGET_LINE.match(line)
        if match and not line.startswith(("\t", "#")):
            if not not_a_target:
                targets.update(match.group(1).split())
            not_a_target = False
        elif not line.strip():
            not_a_target = False
    return targets


def load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())
    if not isinstance(data, dict):
        raise ValueError(f"{path}: not a mapping of jobs")
    return data


def jobs(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Visible jobs (hidden `.templates` are not jobs), with `extends` merged in."""
    found: dict[str, dict[str, Any]] = {}
    for name, body in data.items():
        if name in GLOBAL_KEYS or name.startswith(".") or not isinstance(body, dict):
            continue
        found[name] = _resolve(data, name, set())
    return found


def _resolve(data: dict[str, Any], name: str, seen: set[str]) -> dict[str, Any]:
    if name in seen:
        raise ValueError(f"extends loop through {name!r}")
    body = data.get(name)
    if not isinstance(body, dict):
        raise ValueError(f"extends names {name!r}, which is not defined in this file")
    parents = body.get("extends", [])
    merged: dict[str, Any] = {}
    for parent in [parents] if isinstance(parents, str) else parents:
        merged = _deep_merge(merged, _resolve(data, parent, seen | {name}))
    return _deep_merge(merged, {k: v for k, v in body.items() if k != "extends"})


def _deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    # GitLab merges hashes key by key and replaces everything else (lists included).
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def _expand(text: str, variables: dict[str, str]) -> str:
    return _VAR.sub(lambda m: variables.get(m.group(1), m.group(0)), text)


def make_call(line: str, variables: dict[str, str]) -> tuple[str, list[str]]:
    """(directory, targets) of a `make` command line; ValueError if it is anything else."""
    words = shlex.split(line)
    if not words or words[0] != "make":
        raise ValueError(f"script is not a make call: {line!r}")
    directory, targets = ".", []
    rest = iter(words[1:])
    for word in rest:
        if word == "-C":
            directory = _expand(next(rest, ""), variables)
        elif word.startswith("-C"):
            directory = _expand(word[2:], variables)
        elif word.startswith("-"):
            raise ValueError(f"make option {word!r} is not allowed (the target must run as is)")
        elif "=" in word:
            continue
        else:
            targets.append(word)
    if not targets:
        raise ValueError(f"no target in {line!r} (the default goal is not a CI step)")
    if "$" in directory:
        raise ValueError(f"make -C {directory!r}: the variable has no default in the file")
    return directory, targets


def _variables(values: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in (values or {}).items():
        if isinstance(value, dict):
            value = value.get("value", "")
        out[str(key)] = str(value)
    return out


def check(path: Path, root: Path | None = None) -> list[Problem]:
    """Every problem with one CI file; make directories are relative to `root` (its repo)."""
    root = root or Path.cwd()
    problems = schema_problems(path)
    if problems:
        return problems
    data = load(path)
    stages = data.get("stages") or list(DEFAULT_STAGES)
    targets_by_dir: dict[Path, set[str]] = {}
    global_vars = _variables(data.get("variables"))
    try:
        found = jobs(data)
    except ValueError as exc:
        return [Problem(str(path), "", str(exc))]
    if not found:
        problems.append(Problem(str(path), "", "no jobs"))
    for name, job in found.items():
        stage = job.get("stage", "test")
        if stage not in stages and stage not in (".pre", ".post"):
            problems.append(Problem(str(path), name, f"stage {stage!r} is not in stages"))
        script = job.get("script")
        lines = [script] if isinstance(script, str) else script
        if not isinstance(lines, list) or len(lines) != 1 or not isinstance(lines[0], str):
            problems.append(Problem(str(path), name, "script must be exactly one make call"))
            continue
        for key in ("before_script", "after_script"):
            if job.get(key):
                problems.append(Problem(str(path), name, f"{key}: steps belong in make targets"))
        try:
            directory, wanted = make_call(lines[0], global_vars | _variables(job.get("variables")))
        except ValueError as exc:
            problems.append(Problem(str(path), name, str(exc)))
            continue
        where = (root / directory).resolve()
        if where not in targets_by_dir:
            targets_by_dir[where] = make_targets(where) if (where / "Makefile").is_file() else set()
        for target in wanted:
            if target not in targets_by_dir[where]:
                problems.append(
                    Problem(str(path), name, f"make target {target!r} is not in {where}/Makefile")
                )
    return problems


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    if not args:
        print("usage: python -m agentry.delivery.pipeline_check FILE.yml...", file=sys.stderr)  # noqa: T201
        return 2
    problems: list[Problem] = []
    for name in args:
        path = Path(name)
        if not path.is_file():
            problems.append(Problem(name, "", "no such file"))
            continue
        try:
            problems.extend(check(path))
        except (yaml.YAMLError, ValueError) as exc:
            problems.append(Problem(name, "", f"unreadable: {exc}"))
    for problem in problems:
        print(problem, file=sys.stderr)  # noqa: T201
    if not problems:
        print(f"pipeline-check: {', '.join(args)}: schema valid, every job is a make target")  # noqa: T201
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())

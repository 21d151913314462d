"""The tenant-scoping check: no query on a tenant-owned table bypasses its tenant filter.

A statement (`select`/`update`/`delete`/`insert`, a `.join(...)`, `session.get(...)`, or raw
`text(...)` SQL) that names a model in `models.TENANT_OWNED` (or its table) must sit inside a
class derived from `TenantScopedRepository`, whose `scoped()` adds the tenant filter. Anything
else fails, unless the statement carries `# scoping: exempt (<reason>)` — used for the few
deliberate cross-tenant reads (authentication lookups) so each is visible in review.

Run: `python -m agentry.kit.scoping src/agentry` (part of `make lint`).
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

_QUERY_FUNCS = {"select", "update", "delete", "insert", "join", "outerjoin", "get"}
_EXEMPT = re.compile(r"#\s*scoping:\s*exempt\s*\(.+\)")
SCOPED_BASE = "TenantScopedRepository"


@dataclass(frozen=True)
class Violation:
    path: Path
    line: int
    model: str

    def __str__(self) -> str:
        return (
            f"{self.path}:{self.line}: query on tenant-owned {self.model} outside a "
            f"{SCOPED_BASE} (add the tenant filter, or '# scoping: exempt (reason)')"
        )


def tenant_owned() -> tuple[set[str], set[str]]:
    from agentry.models import TENANT_OWNED

    return {m.__name__ for m in TENANT_OWNED}, {str(m.__tablename__) for m in TENANT_OWNED}


def _func_name(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


def _names(node: ast.AST) -> Iterable[str]:
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name):
            yield sub.id


class _Checker(ast.NodeVisitor):
    def __init__(self, path: Path, lines: list[str], models: set[str], tables: set[str]) -> None:
        self.path, self.lines, self.models = path, lines, models
        self.tables = re.compile(r"\b(" + "|".join(map(re.escape, sorted(tables))) + r")\b")
        self.scoped_classes: set[str] = {SCOPED_BASE}
        self.class_stack: list[bool] = []
        self.violations: list[Violation] = []

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        bases = set()
        for b in node.bases:
            target = b.value if isinstance(b, ast.Subscript) else b
            if isinstance(target, ast.Name):
                bases.add(target.id)
            elif isinstance(target, ast.Attribute):
                bases.add(target.attr)
        scoped = bool(bases & self.scoped_classes)
        if scoped:
            self.scoped_classes.add(node.name)
        self.class_stack.append(scoped)
        self.generic_visit(node)
        self.class_stack.pop()

    def visit_Call(self, node: ast.Call) -> None:
        name = _func_name(node)
        hit: str | None = None
        if name in _QUERY_FUNCS:
            args: list[ast.AST] = [*node.args, *(k.value for k in node.keywords)]
            if name in ("get", "join", "outerjoin"):
                args = args[:1]  # the model/target argument only
            for arg in args:
                hit = next((n for n in _names(arg) if n in self.models), None)
                if hit:
                    break
        elif name == "text":
            for arg in node.args:
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    m = self.tables.search(arg.value)
                    if m:
                        hit = m.group(1)
        if hit and not any(self.class_stack[-1:]) and not self._exempt(node):
            self.violations.append(Violation(self.path, node.lineno, hit))
        self.generic_visit(node)

    def _exempt(self, node: ast.Call) -> bool:
        end = node.end_lineno or node.lineno
        return any(_EXEMPT.search(self.lines[i - 1]) for i in range(node.lineno, end + 1))


def check_source(
    source: str, path: Path, models: set[str] | None = None, tables: set[str] | None = None
) -> list[Violation]:
    if models is None or tables is None:
        models, tables = tenant_owned()
    checker = _Checker(path, source.splitlines(), models, tables)
    checker.visit(ast.parse(source, filename=str(path)))
    return checker.violations


def check_tree(root: Path) -> list[Violation]:
    models, tables = tenant_owned()
    out: list[Violation] = []
    for path in sorted(root.rglob("*.py")):
        if "migrations" in path.parts or path.name == "scoping.py":
            continue
        out += check_source(path.read_text(), path, models, tables)
    return out


def main(argv: list[str]) -> int:
    roots = [Path(a) for a in argv] or [Path(__file__).resolve().parents[1]]
    violations = [v for root in roots for v in check_tree(root)]
    for v in violations:
        print(v, file=sys.stderr)  # noqa: T201
    if not violations:
        print("tenant scoping: OK")  # noqa: T201
    return 1 if violations else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

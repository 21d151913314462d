"""Reading runbook pages: their fenced steps and the make targets they name."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).parents[2]
RUNBOOKS = ROOT / "docs" / "runbooks"
FENCE = re.compile(r"^[ \t]*```[a-z]*\n(.*?)^[ \t]*```", flags=re.S | re.M)
STEP = re.compile(r"^make [a-z][a-z0-9-]*( |$)")
EXPORT = re.compile(r"^export [A-Z_][A-Z0-9_]*=")
INLINE_MAKE = re.compile(r"`(?:[A-Z_]+=\S+ )*make ([a-z][a-z0-9-]*)[^`]*`")
# A page may name these only to say they are not needed.
AWS_CLI = r"\baws (?:s3|iam|ecs|logs|cloudwatch|bedrock[a-z-]*|sts|secretsmanager|rds)\b"
FORBIDDEN = re.compile(rf"\bcurl\b|\bpsql\b|\bsqlite3\b|\.venv/bin|{AWS_CLI}|\bjq\b")


@dataclass(frozen=True)
class Page:
    path: Path

    @property
    def text(self) -> str:
        return self.path.read_text()

    @property
    def number(self) -> str:
        return self.path.name.split("-")[1]

    def lines(self) -> list[str]:
        """Every line of every fenced block, comments and blanks dropped."""
        found = []
        for block in FENCE.findall(self.text):
            for raw in block.splitlines():
                line = raw.split(" # ", 1)[0].strip()
                if line and not line.startswith("#"):
                    found.append(line)
        return found

    def steps(self) -> list[str]:
        return [line for line in self.lines() if line.startswith("make ")]

    def targets(self) -> set[str]:
        named = {line.split()[1] for line in self.steps()}
        return named | set(INLINE_MAKE.findall(self.text))


def pages() -> list[Page]:
    return [Page(p) for p in sorted(RUNBOOKS.glob("RUNBOOK-*.md"))]


def page(number: str) -> Page:
    (found,) = [p for p in pages() if p.number == number]
    return found


def makefile_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text()
    return set(re.findall(r"^([a-z][a-z0-9-]*):", text, flags=re.M))

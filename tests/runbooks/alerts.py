"""The alert rules, and a small evaluator for the threshold rules (`metric{labels} > N`)."""

from __future__ import annotations

import operator
import re
from pathlib import Path
from typing import Any

import yaml

RULES = Path(__file__).parents[2] / "docs" / "alerts" / "agentry.rules.yml"
THRESHOLD = re.compile(r"^(agentry_[a-z_]+)(?:\{([^}]*)\})? (>|<) ([0-9.]+)$")
SAMPLE = re.compile(r"^(agentry_[a-z_]+)(?:\{([^}]*)\})? (\S+)$")
OPS = {">": operator.gt, "<": operator.lt}


def rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def _labels(text: str | None) -> dict[str, str]:
    return dict(re.findall(r'(\w+)="([^"]*)"', text or ""))


def samples(scrape: str) -> list[tuple[str, dict[str, str], float]]:
    found = []
    for line in scrape.splitlines():
        m = SAMPLE.match(line)
        if m:
            found.append((m.group(1), _labels(m.group(2)), float(m.group(3))))
    return found


def firing(rule: dict[str, Any], scrape: str) -> bool | None:
    """Whether a threshold rule fires on this scrape (ignoring `for`); None for other rules."""
    m = THRESHOLD.match(str(rule["expr"]).strip())
    if m is None:
        return None
    name, want, op, limit = m.group(1), _labels(m.group(2)), m.group(3), float(m.group(4))
    values = [
        v for n, labels, v in samples(scrape)
        if n == name and all(labels.get(k) == x for k, x in want.items())
    ]  # fmt: skip
    return any(OPS[op](v, limit) for v in values)

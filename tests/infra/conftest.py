"""Synthesize each environment once per session (jsii start-up and cdk-nag are the slow part)."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

INFRA = Path(__file__).resolve().parents[2] / "infra"
# This machine's Node is 20; jsii's end-of-life banner would fill the test log on every synth.
# `make infra-synth` still shows it.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
sys.path.insert(0, str(INFRA))

pytest.importorskip(
    "aws_cdk", reason="aws-cdk-lib is not installed (the `infra` dependency group; make install)"
)
pytest.importorskip("cdk_nag", reason="cdk-nag is not installed (the `infra` dependency group)")


@dataclass
class Synth:
    platform: Any  # agentry_infra.app.Platform
    error: Exception | None
    templates: dict[str, dict[str, Any]]

    def template(self, stack: str) -> dict[str, Any]:
        return self.templates[stack]

    def resources(
        self, kind: str, stack: str | None = None
    ) -> list[tuple[str, str, dict[str, Any]]]:
        """(stack, logical id, properties) of every resource of `kind`."""
        found = []
        for name, template in self.templates.items():
            if stack is not None and name != stack:
                continue
            for logical, resource in template.get("Resources", {}).items():
                if resource["Type"] == kind:
                    found.append((name, logical, resource.get("Properties", {})))
        return found


@pytest.fixture(scope="session")
def synth() -> Iterator[Callable[..., Synth]]:
    """synth(env, **context) -> Synth, cached per (env, context) for the session."""
    from agentry_infra.app import build

    cache: dict[tuple[str, tuple[tuple[str, str], ...]], Synth] = {}
    with tempfile.TemporaryDirectory(prefix="agentry-cdk-") as out:

        def run(env: str, **context: str) -> Synth:
            key = (env, tuple(sorted(context.items())))
            if key not in cache:
                platform = build(env, outdir=f"{out}/{env}-{len(cache)}", context=context)
                error: Exception | None = None
                templates: dict[str, dict[str, Any]] = {}
                try:
                    assembly = platform.app.synth()
                    for name, stack in platform.stacks.items():
                        templates[name] = assembly.get_stack_by_name(stack.stack_name).template
                except RuntimeError as exc:  # cdk-nag findings or a synth error
                    error = exc
                cache[key] = Synth(platform, error, templates)
            return cache[key]

        yield run

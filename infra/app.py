"""CDK CLI entry (cdk.json): `cdk synth -c env=dev`. `make infra-synth` runs synth.py instead."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import aws_cdk as cdk

from agentry_infra.app import build

probe = cdk.App()
env_name = probe.node.try_get_context("env") or "dev"
build(env_name).app.synth()

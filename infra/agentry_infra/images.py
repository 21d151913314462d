"""The two container images built from the repository's Dockerfile (at deploy; synth only
stages the build context): the API/worker image and the Gateway interceptor Lambda image."""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_ecr_assets as ecr_assets

REPO_ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO_ROOT / "Dockerfile"
# The build context (docker's ignore rules): exactly what /.dockerignore lets through, so
# `docker build .` and `cdk deploy` build from the same files.
CONTEXT_EXCLUDE = [
    line.strip()
    for line in (REPO_ROOT / ".dockerignore").read_text().splitlines()
    if line.strip() and not line.startswith("#")
]
IGNORE_MODE = cdk.IgnoreMode.DOCKER
API_TARGET = "api"
LAMBDA_TARGET = "lambda"
PLATFORM = ecr_assets.Platform.LINUX_ARM64  # Graviton tasks and Lambda

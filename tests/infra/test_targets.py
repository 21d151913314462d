"""The make targets that need AWS fail at once, in one line, without credentials."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _no_aws_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CDK_"))}
    env |= {
        "AWS_CONFIG_FILE": str(tmp_path / "no-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-credentials"),
    }
    env.pop("MAKEFLAGS", None)
    return env


@pytest.mark.parametrize(
    "target", ["infra-deploy", "infra-diff", "infra-bootstrap", "infra-destroy"]
)
def test_target_without_credentials_fails_in_one_line(tmp_path: Path, target: str) -> None:
    started = time.monotonic()
    done = subprocess.run(
        ["make", "--no-print-directory", "-s", target, "ENV=dev"],
        cwd=ROOT,
        env=_no_aws_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    # make adds its own "make: *** [...] Error 2" trailer; everything else is ours.
    ours = [ln for ln in done.stderr.splitlines() if ln and not ln.startswith(("make: ", "make["))]
    assert ours == [
        f"make {target}: no AWS credentials found (set AWS_PROFILE or AWS_ACCESS_KEY_ID/"
        "AWS_SECRET_ACCESS_KEY, or run `aws sso login`)"
    ]
    assert "cdk" not in done.stdout  # the CLI never ran
    assert time.monotonic() - started < 90  # make install's no-op check included


def test_preflight_cases(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    sys.path.insert(0, str(ROOT / "infra"))
    import preflight

    for key, value in _no_aws_env(tmp_path).items():
        monkeypatch.setenv(key, value)
    for key in [k for k in os.environ if k.startswith("AWS_") and "FILE" not in k]:
        monkeypatch.delenv(key)
    assert preflight.problem("destroy", "prod") == (
        "make infra-destroy: refused for ENV=prod; only dev can be destroyed from make"
    )
    assert "ENV must be one of dev, staging, prod (got nothing)" in str(
        preflight.problem("deploy", "")
    )
    assert "no AWS credentials" in str(preflight.problem("deploy", "staging"))
    monkeypatch.setenv("AWS_PROFILE", "nobody")
    assert str(preflight.problem("deploy", "dev")).startswith(
        "make infra-deploy: AWS credentials could not be loaded: The config profile (nobody)"
    )
    monkeypatch.delenv("AWS_PROFILE")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLEEXAMPLE00")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-a-real-secret")
    monkeypatch.setattr(preflight.shutil, "which", lambda name: f"/usr/bin/{name}")
    assert preflight.problem("deploy", "dev") is None
    monkeypatch.setattr(preflight.shutil, "which", lambda name: None if name == "docker" else "/x")
    assert "docker is missing" in str(preflight.problem("deploy", "dev"))
    assert preflight.problem("diff", "dev") is None  # diff builds no image


def test_seed_secrets_fills_placeholders_once(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    import boto3
    from cryptography.fernet import Fernet
    from cryptography.hazmat.primitives import serialization
    from moto import mock_aws

    sys.path.insert(0, str(ROOT / "infra"))
    import seed_secrets

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        client: Any = boto3.client("secretsmanager", region_name="eu-west-2")
        for name in ("token-signing-key", "webhook-secret-key"):
            client.create_secret(Name=f"agentry-dev/{name}", SecretString="SEED-ME")
        assert seed_secrets.seed("dev", client) == {
            "agentry-dev/token-signing-key": "seeded",
            "agentry-dev/webhook-secret-key": "seeded",
        }
        pem = client.get_secret_value(SecretId="agentry-dev/token-signing-key")["SecretString"]
        key = serialization.load_pem_private_key(pem.encode(), password=None)
        assert key.key_size == 2048  # type: ignore[union-attr]
        box = client.get_secret_value(SecretId="agentry-dev/webhook-secret-key")["SecretString"]
        Fernet(box.encode())  # a valid Fernet key
        # Running again leaves seeded secrets alone.
        assert set(seed_secrets.seed("dev", client).values()) == {"already set"}
        assert (
            client.get_secret_value(SecretId="agentry-dev/webhook-secret-key")["SecretString"]
            == box
        )

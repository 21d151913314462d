"""The API image: what can be checked without building it (docker cannot build here)."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ENTRYPOINT = ROOT / "infra" / "docker" / "entrypoint.sh"


def _stages() -> dict[str, list[str]]:
    """Dockerfile instructions per stage (continuation lines joined), keyed by stage name."""
    text = re.sub(r"\\\n\s*", " ", (ROOT / "Dockerfile").read_text())
    stages: dict[str, list[str]] = {}
    current = ""
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            current = line.split()[-1]
            stages[current] = []
        if current:
            stages[current].append(line)
    return stages


def test_build_stage_is_the_locked_install_the_tests_use() -> None:
    build = _stages()["build"]
    copies = [i for i in build if i.startswith("COPY")]
    assert any("uv.lock" in c and "pyproject.toml" in c for c in copies)
    syncs = [i for i in build if "uv sync" in i]
    assert syncs
    assert all("--frozen" in s for s in syncs)  # the lock as is, never re-resolved
    # `make install` runs the same command (plus the dev/infra groups the image leaves out).
    assert "$(UV) sync --frozen" in (ROOT / "Makefile").read_text()
    uv_version = re.search(r"^UV_VERSION := (\S+)", (ROOT / "Makefile").read_text(), re.M)
    assert uv_version
    assert f"ARG UV_VERSION={uv_version.group(1)}" in (ROOT / "Dockerfile").read_text()


def test_final_stages_run_as_non_root_without_build_tools() -> None:
    stages = _stages()
    for name in ("api", "lambda"):
        stage = stages[name]
        users = [i.split()[1] for i in stage if i.startswith("USER ")]
        assert users, f"{name} sets no USER"
        assert users[-1].split(":")[0] not in {"root", "0"}
        text = " ".join(stage)
        for tool in ("gcc", "build-essential", "apt-get install", "pip install", "uv sync"):
            assert tool not in text, f"{name} stage has {tool}"
    api = " ".join(stages["api"])
    assert "COPY --from=build /app/.venv" in api
    assert 'ENTRYPOINT ["agentry-entrypoint"]' in api


def test_lambda_stage_points_at_the_interceptor_handler() -> None:
    cmd = next(i for i in _stages()["lambda"] if i.startswith("CMD"))
    module, _, function = re.search(r'"([^"]+)"', cmd).group(1).rpartition(".")  # type: ignore[union-attr]
    assert module == "agentry.gateway.lambda_handler"
    import importlib

    assert callable(getattr(importlib.import_module(module), function))


def test_build_context_lets_through_only_what_the_dockerfile_copies() -> None:
    rules = (ROOT / ".dockerignore").read_text().split()
    assert rules[rules.index("*") :][:1] == ["*"]
    for needed in ("!pyproject.toml", "!uv.lock", "!src", "!infra/docker", "!README.md"):
        assert needed in rules
    assert os.access(ENTRYPOINT, os.X_OK)


def _run_entrypoint(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    fake = bin_dir / "agentry"
    fake.write_text(
        "#!/bin/sh\n"
        f'echo "args=$*" > "{tmp_path}/ran"\n'
        f'env | grep "^AGENTRY_" | sort >> "{tmp_path}/ran"\n'
    )
    fake.chmod(0o755)
    base = {
        "PATH": f"{bin_dir}:{Path(sys.executable).parent}:/usr/bin:/bin",
        "AGENTRY_HOME": str(tmp_path / "home"),
        "AGENTRY_API_KEY_PEPPER": "pepper",
        "AGENTRY_WEBHOOK_SECRET_KEY": "box-key",
        "AGENTRY_TOKEN_SIGNING_KEY_PEM": "-----BEGIN PRIVATE KEY-----\nabc\n"
        "-----END PRIVATE KEY-----",
        "AGENTRY_DB_USER": "agentry",
        "AGENTRY_DB_PASSWORD": "p@ss:w/rd%",
        "AGENTRY_DB_HOST": "db.internal",
        "AGENTRY_DB_PORT": "5433",
        "AGENTRY_DB_NAME": "agentry",
        "AGENTRY_REDIS_HOST": "redis.internal",
        "AGENTRY_REDIS_PORT": "6380",
        "AGENTRY_REDIS_AUTH_TOKEN": "tok",
    }
    return subprocess.run(
        ["sh", str(ENTRYPOINT), "worker"],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_entrypoint_builds_settings_from_injected_secrets(tmp_path: Path) -> None:
    done = _run_entrypoint(tmp_path)
    assert done.returncode == 0, done.stderr
    ran = (tmp_path / "ran").read_text()
    assert "args=worker" in ran
    assert (
        "AGENTRY_DATABASE_URL=postgresql+asyncpg://agentry:p%40ss%3Aw%2Frd%25"
        "@db.internal:5433/agentry?ssl=require"
    ) in ran
    assert "AGENTRY_REDIS_URL=rediss://:tok@redis.internal:6380/0" in ran
    # The raw password, token and PEM are not passed on; the key is a 0600 file.
    for gone in (
        "AGENTRY_DB_PASSWORD=",
        "AGENTRY_REDIS_AUTH_TOKEN=",
        "AGENTRY_TOKEN_SIGNING_KEY_PEM=",
    ):
        assert gone not in ran
    key = tmp_path / "home" / "agent-auth" / "signing-key.pem"
    assert key.read_text().startswith("-----BEGIN PRIVATE KEY-----")
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert "p@ss" not in done.stdout + done.stderr


@pytest.mark.parametrize("name", ["AGENTRY_WEBHOOK_SECRET_KEY", "AGENTRY_TOKEN_SIGNING_KEY_PEM"])
def test_entrypoint_refuses_an_unseeded_secret(tmp_path: Path, name: str) -> None:
    done = _run_entrypoint(tmp_path, **{name: "SEED-ME"})
    assert done.returncode == 64
    assert done.stderr.strip() == (
        f"agentry-entrypoint: {name} still holds the placeholder: run make infra-seed-secrets"
    )
    assert not (tmp_path / "ran").exists()

"""Per-version Python environments: a dependency layer per distinct set of requirements.

A layer is `uv pip install --target <home>/layers/<hash>` of the manifest's requirements, keyed
by a hash of (requirements, Python version), so versions whose requirements did not change
reuse it with no install step. The session process puts the layer on sys.path right after the
version's code dir (`AGENTRY_DEPS_LAYER`, read by `runtime/emulator/host.py`), so pre-started
standby processes still serve it. Build logs are kept next to the layer.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from agentry.config import Settings
from agentry.kit.errors import ValidationFailed

LAYER_ENV = "AGENTRY_DEPS_LAYER"
_REPO_ROOT = Path(__file__).resolve().parents[3]
_locks: dict[str, asyncio.Lock] = {}
_PY = f"{sys.version_info.major}.{sys.version_info.minor}"


class DependencyBuildFailed(ValidationFailed):
    code = "dependency_build_failed"
    title = "The agent's dependencies could not be installed"


@dataclass(frozen=True, slots=True)
class Layer:
    key: str
    path: Path | None
    reused: bool
    seconds: float


# AgentCore direct code deployment runs Python on Linux arm64: dependencies for the aws
# profile are resolved for that platform (wheels only) and bundled into the code zip.
AGENTCORE_PLATFORM = ("--python-platform", "aarch64-manylinux2014", "--only-binary", ":all:")


def layer_key(requirements: list[str], target: str = "local") -> str:
    spec = "\n".join(sorted(r.strip() for r in requirements if r.strip()))
    py = f"{sys.version_info.major}.{sys.version_info.minor}"
    prefix = "" if target == "local" else f"{target}\n"
    return hashlib.sha256(f"{prefix}{py}\n{spec}".encode()).hexdigest()[:24]


def uv_executable(settings: Settings) -> str:
    if settings.uv_bin:
        return settings.uv_bin
    found = shutil.which("uv")
    if found:
        return found
    local = _REPO_ROOT / ".tools" / "bin" / "uv"
    if local.exists():
        return str(local)
    raise DependencyBuildFailed("uv is not installed; set AGENTRY_UV_BIN.")


def tail(text: str, lines: int = 30) -> str:
    return "\n".join(text.splitlines()[-lines:])


async def ensure_layer(settings: Settings, requirements: list[str], target: str = "local") -> Layer:
    """The layer for these requirements, building it once (concurrent pushes wait).
    `target="agentcore"`: built for AgentCore's platform (bundled into the zip in aws)."""
    if not [r for r in requirements if r.strip()]:
        return Layer(key="", path=None, reused=True, seconds=0.0)
    key = layer_key(requirements, target)
    path = settings.layers_dir / key
    if path.is_dir():
        return Layer(key=key, path=path, reused=True, seconds=0.0)
    async with _locks.setdefault(key, asyncio.Lock()):
        if path.is_dir():
            return Layer(key=key, path=path, reused=True, seconds=0.0)
        started = time.perf_counter()
        await _build(settings, requirements, path, target)
        return Layer(key=key, path=path, reused=False, seconds=time.perf_counter() - started)


async def _build(
    settings: Settings, requirements: list[str], path: Path, target: str = "local"
) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    log_path = path.parent / f"{path.name}.log"
    cmd = [
        uv_executable(settings),
        "pip",
        "install",
        "--target",
        str(tmp),
        "--python",
        sys.executable,
        "--no-progress",
        *(
            ("--compile-bytecode",)  # sessions never write .pyc: compile once, here
            if target == "local"
            else (*AGENTCORE_PLATFORM, "--python-version", _PY)
        ),
        *requirements,
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTRY_")}
    proc = await asyncio.create_subprocess_exec(
        *cmd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        stdin=asyncio.subprocess.DEVNULL,
        env=env,
    )
    out, _ = await proc.communicate()
    text = out.decode(errors="replace")
    log_path.write_text(f"$ {' '.join(cmd)}\n{text}")
    if proc.returncode != 0:
        shutil.rmtree(tmp, ignore_errors=True)
        raise DependencyBuildFailed(
            f"uv pip install failed (exit {proc.returncode}); build log {log_path}:\n{tail(text)}"
        )
    os.replace(tmp, path)

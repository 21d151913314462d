"""`make secret-scan` catches a planted key and tolerates known fakes that move; `make sbom`
is the locked runtime dependency set as CycloneDX."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
# Built at run time so this file carries no key itself.
FAKE_AWS_KEY_ID = "AKIA" + "Q3WJ5XKZ7PLM2NRT"
KNOWN_FIXTURE = "ghp_" + "A1b2C3d4" * 4 + "E5f6"


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, timeout=30)


def _scan(repo: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agentry.delivery.secret_scan", ".secrets.baseline"],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    _git(tmp_path, "init", "-q")
    (tmp_path / "app.py").write_text("def hello() -> str:\n    return 'hi'\n")
    (tmp_path / "fixture.py").write_text(f"TOKEN = '{KNOWN_FIXTURE}'\n")
    _git(tmp_path, "add", "-A")
    baseline = subprocess.run(
        [str(Path(sys.executable).parent / "detect-secrets"), "scan"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    assert "fixture.py" in json.loads(baseline)["results"]  # the fake is recorded as known
    (tmp_path / ".secrets.baseline").write_text(baseline)
    return tmp_path


def test_a_clean_tree_passes_and_known_fakes_may_move(repo: Path) -> None:
    (repo / "fixture.py").write_text(f"# moved down\n\n\nTOKEN = '{KNOWN_FIXTURE}'\n")
    result = _scan(repo)
    assert result.returncode == 0, result.stderr
    assert "no new secrets" in result.stdout
    # The scan never rewrites the baseline (detect-secrets' own hook would, and exit 3).
    assert json.loads((repo / ".secrets.baseline").read_text())["results"]["fixture.py"]


def test_a_planted_key_is_caught_in_a_file_not_yet_added(repo: Path) -> None:
    (repo / "settings.py").write_text(f"import os\n\nAWS_ID = '{FAKE_AWS_KEY_ID}'\n")
    result = _scan(repo)
    assert result.returncode == 1
    assert "settings.py:3: AWS Access Key" in result.stderr
    assert FAKE_AWS_KEY_ID not in result.stderr + result.stdout  # never printed


def test_a_second_secret_in_a_known_file_is_new(repo: Path) -> None:
    with (repo / "fixture.py").open("a") as f:
        f.write(f"OTHER = '{FAKE_AWS_KEY_ID}'\n")
    result = _scan(repo)
    assert result.returncode == 1
    assert "fixture.py:2: AWS Access Key" in result.stderr


def test_the_sbom_is_the_locked_runtime_set(tmp_path: Path) -> None:
    out = tmp_path / "sbom.cdx.json"
    subprocess.run(
        ["make", "-s", "sbom", f"OUT={out}"],
        cwd=REPO_ROOT,
        check=True,
        capture_output=True,
        timeout=120,
    )
    bom = json.loads(out.read_text())
    assert bom["bomFormat"] == "CycloneDX"
    assert bom["specVersion"] == "1.5"
    components = {c["name"]: c for c in bom["components"]}
    lock = {p["name"]: p for p in tomllib.loads((REPO_ROOT / "uv.lock").read_text())["package"]}
    # Every component is pinned exactly as in uv.lock, with its purl and the lock's hashes.
    for name, component in components.items():
        assert component["version"] == lock[name]["version"], name
        assert component["purl"] == f"pkg:pypi/{name}@{lock[name]['version']}"
    fastapi = components["fastapi"]
    hashes = {h["content"] for ref in fastapi["externalReferences"] for h in ref["hashes"]}
    assert lock["fastapi"]["sdist"]["hash"].removeprefix("sha256:") in hashes
    # Runtime only: the direct dependencies are in, the dev tools are not.
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    for requirement in project["dependencies"]:
        name = requirement.split("[")[0].split(">")[0].split("<")[0].split("=")[0].strip()
        assert name in components, name
    assert "pytest" not in components
    assert "detect-secrets" not in components

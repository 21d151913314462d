from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import pytest

from agentry.registry import packaging
from agentry.registry.packaging import PackagingError

ECHO = Path(__file__).resolve().parents[2] / "agents" / "echo"


def _agent(tmp_path: Path) -> Path:
    root = tmp_path / "agent"
    root.mkdir()
    (root / "agent.toml").write_text('name = "x"\n')
    (root / "main.py").write_text("print('hi')\n")
    return root


def test_same_tree_gives_same_digest_whatever_the_mtimes(tmp_path: Path) -> None:
    root = _agent(tmp_path)
    first = packaging.digest(packaging.package_dir(root))
    os.utime(root / "main.py", (0, 0))
    assert packaging.digest(packaging.package_dir(root)) == first


def test_caches_and_vcs_files_are_excluded(tmp_path: Path) -> None:
    root = _agent(tmp_path)
    before = packaging.digest(packaging.package_dir(root))
    (root / "__pycache__").mkdir()
    (root / "__pycache__" / "main.cpython-311.pyc").write_bytes(b"\0")
    (root / ".git").mkdir()
    (root / ".git" / "HEAD").write_text("ref")
    data = packaging.package_dir(root)
    assert packaging.digest(data) == before
    assert sorted(zipfile.ZipFile(io.BytesIO(data)).namelist()) == ["agent.toml", "main.py"]


def test_changed_content_changes_digest(tmp_path: Path) -> None:
    root = _agent(tmp_path)
    before = packaging.digest(packaging.package_dir(root))
    (root / "main.py").write_text("print('changed')\n")
    assert packaging.digest(packaging.package_dir(root)) != before


def test_symlink_leaving_the_directory_is_refused(tmp_path: Path) -> None:
    root = _agent(tmp_path)
    (tmp_path / "secret.txt").write_text("s")
    (root / "link.txt").symlink_to(tmp_path / "secret.txt")
    with pytest.raises(PackagingError, match="outside"):
        packaging.package_dir(root)


@pytest.mark.parametrize("name", ["../evil.py", "/etc/evil.py", "a/../../evil.py"])
def test_zip_slip_archive_is_refused(name: str) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(name, "x")
    with pytest.raises(PackagingError, match="path"):
        packaging.check_archive(buf.getvalue())


def test_oversized_archive_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(packaging, "MAX_ARTIFACT_BYTES", 100)
    with pytest.raises(PackagingError, match="limit"):
        packaging.check_archive(b"x" * 101)


def test_not_a_zip_is_refused() -> None:
    with pytest.raises(PackagingError, match="not a zip"):
        packaging.check_archive(b"hello")

"""Deterministic agent artifacts: the same directory always gives the same bytes and digest."""

from __future__ import annotations

import hashlib
import io
import os
import stat
import zipfile
from pathlib import Path

from agentry.kit.errors import BadRequest

MAX_ARTIFACT_BYTES = 250 * 1024 * 1024  # AgentCore's code-zip limit (compressed)
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)
_EXCLUDED_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "__pycache__",
        ".venv",
        "venv",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".agentry",
        "node_modules",
    }
)
_EXCLUDED_SUFFIXES = (".pyc", ".pyo")
_EXCLUDED_NAMES = frozenset({".DS_Store"})


class PackagingError(BadRequest):
    code = "invalid_package"
    title = "The agent package is invalid"


def _files(root: Path) -> list[tuple[str, Path]]:
    root = root.resolve()
    found: list[tuple[str, Path]] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        base = Path(dirpath)
        kept = []
        for d in dirnames:
            if d in _EXCLUDED_DIRS:
                continue
            if (base / d).is_symlink():
                _check_link(root, base / d)
                continue  # a directory link inside the tree is refused below if it escapes
            kept.append(d)
        dirnames[:] = kept
        for name in filenames:
            if name in _EXCLUDED_NAMES or name.endswith(_EXCLUDED_SUFFIXES):
                continue
            path = base / name
            if path.is_symlink():
                _check_link(root, path)
            found.append((path.relative_to(root).as_posix(), path))
    return sorted(found)


def _check_link(root: Path, path: Path) -> None:
    target = path.resolve()
    if not target.is_relative_to(root):
        raise PackagingError(
            f"{path.relative_to(root)}: symlink points outside the agent directory"
        )


def package_dir(root: Path) -> bytes:
    """Zip an agent directory: sorted entries, fixed timestamps and modes, caches excluded."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for arcname, path in _files(root):
            info = zipfile.ZipInfo(arcname, date_time=_FIXED_TIME)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, path.read_bytes())
    data = buf.getvalue()
    if len(data) > MAX_ARTIFACT_BYTES:
        raise PackagingError(f"artifact is {len(data)} bytes; the limit is {MAX_ARTIFACT_BYTES}")
    return data


def digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def check_archive(data: bytes) -> list[str]:
    """Validate an uploaded zip: size, readable, no absolute or `..` paths. Returns its names."""
    if len(data) > MAX_ARTIFACT_BYTES:
        raise PackagingError(f"artifact is {len(data)} bytes; the limit is {MAX_ARTIFACT_BYTES}")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = zf.infolist()
    except zipfile.BadZipFile as exc:
        raise PackagingError("the artifact is not a zip archive") from exc
    names = [info.filename for info in infos]
    for info in infos:
        if stat.S_ISLNK(info.external_attr >> 16):
            raise PackagingError(f"{info.filename}: symlink in archive")
    for name in names:
        parts = Path(name).parts
        if name.startswith(("/", "\\")) or ".." in parts or (parts and ":" in parts[0]):
            raise PackagingError(f"{name}: absolute or parent-relative path in archive")
    return names


def read_member(data: bytes, name: str) -> bytes | None:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        try:
            return zf.read(name)
        except KeyError:
            return None


def bundle(archive: bytes, layer: Path | None) -> bytes:
    """The code zip AgentCore runs: the agent's files, and its dependency layer at the root
    (AgentCore direct code deployment imports from the zip's top level). The agent's own files
    win over a dependency of the same path."""
    if layer is None:
        return archive
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(archive)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        own = set(source.namelist())
        for name in source.namelist():
            target.writestr(source.getinfo(name), source.read(name))
        for name, path in _files(layer):
            if name not in own:
                target.write(path, name)
    data = out.getvalue()
    if len(data) > MAX_ARTIFACT_BYTES:
        raise PackagingError(f"artifact is {len(data)} bytes; the limit is {MAX_ARTIFACT_BYTES}")
    return data

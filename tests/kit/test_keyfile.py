"""A key ring on disk: another process's rotation is seen within `recheck_s`, ours at once."""

from __future__ import annotations

import time
from pathlib import Path

from agentry.kit.keyfile import KeyLines


def test_a_ring_read_often_sees_another_writer_within_recheck(tmp_path: Path) -> None:
    path = tmp_path / "ring"
    ours, theirs = KeyLines(path, recheck_s=0.2), KeyLines(path)
    ours.write(["a"])
    assert ours.lines() == ["a"]
    theirs.write(["b", "a"])
    assert ours.lines() == ["a"]  # within recheck_s: not stat'ed again
    time.sleep(0.25)
    assert ours.lines() == ["b", "a"]
    ours.write(["c", "b"])
    assert ours.lines() == ["c", "b"]  # its own write at once
    assert theirs.lines() == ["c", "b"]  # no recheck_s: every read looks


def test_a_missing_file_is_an_empty_ring(tmp_path: Path) -> None:
    assert KeyLines(tmp_path / "none", recheck_s=1.0).lines() == []

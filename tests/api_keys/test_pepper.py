"""The pepper ring: generated locally, configuration (newest first) in a secret store."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr

from agentry.api_keys.pepper import PepperRing, api_key_pepper
from agentry.config import Settings


def _settings(tmp_path: Path, pepper: str = "") -> Settings:
    return Settings(home=tmp_path, api_key_pepper=SecretStr(pepper))


def test_a_configured_ring_verifies_with_every_pepper_and_hashes_with_the_first(
    tmp_path: Path,
) -> None:
    ring = PepperRing(_settings(tmp_path, " new , old "))
    assert ring.all() == [b"new", b"old"]
    assert ring.current == b"new"
    assert not ring.rotatable  # rotated in the secret store, not by the platform


def test_the_audit_pepper_stays_the_original_while_a_new_one_is_in_front(tmp_path: Path) -> None:
    assert api_key_pepper(_settings(tmp_path, "old")) == b"old"
    assert api_key_pepper(_settings(tmp_path, "new,old")) == b"old"


def test_locally_a_rotation_keeps_the_generated_original(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    ring = PepperRing(settings)
    original = ring.current
    assert ring.rotate() == 2
    assert ring.all()[1] == original
    assert ring.current != original
    assert api_key_pepper(settings) == original
    assert ring.retire() == 1
    assert ring.all() != [original]

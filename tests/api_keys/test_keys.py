from __future__ import annotations

import math

from agentry.api_keys import keys


def test_generated_key_is_prefixed_and_well_formed() -> None:
    key = keys.generate()
    assert key.startswith("agy_")
    assert len(key) == keys.KEY_LEN
    assert keys.well_formed(key)


def test_key_carries_at_least_128_bits() -> None:
    assert 32 * math.log2(62) >= 128


def test_checksum_catches_a_changed_character() -> None:
    key = keys.generate()
    i = 10
    changed = key[:i] + ("A" if key[i] != "A" else "B") + key[i + 1 :]
    assert not keys.well_formed(changed)


def test_malformed_keys_are_refused() -> None:
    for bad in ["", "agy_", "sk_" + "a" * 38, keys.generate() + "x", "agy_" + "!" * 38]:
        assert not keys.well_formed(bad)


def test_hash_depends_on_pepper_and_hides_key() -> None:
    key = keys.generate()
    h1, h2 = keys.hash_key(key, b"one"), keys.hash_key(key, b"two")
    assert h1 != h2
    assert key not in h1
    assert len(h1) == 64

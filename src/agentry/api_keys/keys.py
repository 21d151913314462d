"""API key format: `agy_` + 32 base62 chars (~190 bits) + 6 base62 chars of CRC32 checksum.

The checksum lets us (and secret scanners) reject a mistyped or made-up key without a
database lookup. Keys are stored only as HMAC-SHA256(pepper, key).
"""

from __future__ import annotations

import hmac
import re
import secrets
import string
import zlib

PREFIX = "agy_"
_ALPHABET = string.digits + string.ascii_letters
_BODY_LEN = 32
_CHECK_LEN = 6
KEY_LEN = len(PREFIX) + _BODY_LEN + _CHECK_LEN
_SHAPE = re.compile(rf"^{PREFIX}[0-9A-Za-z]{{{_BODY_LEN + _CHECK_LEN}}}$")


def _base62(n: int, width: int) -> str:
    out = []
    for _ in range(width):
        n, r = divmod(n, 62)
        out.append(_ALPHABET[r])
    return "".join(reversed(out))


def _checksum(body: str) -> str:
    return _base62(zlib.crc32(body.encode()), _CHECK_LEN)


def generate() -> str:
    body = "".join(secrets.choice(_ALPHABET) for _ in range(_BODY_LEN))
    return f"{PREFIX}{body}{_checksum(body)}"


def well_formed(key: str) -> bool:
    if len(key) != KEY_LEN or not _SHAPE.match(key):
        return False
    body, check = key[len(PREFIX) : -_CHECK_LEN], key[-_CHECK_LEN:]
    return hmac.compare_digest(_checksum(body), check)


def hash_key(key: str, pepper: bytes) -> str:
    return hmac.digest(pepper, key.encode(), "sha256").hex()


def display_prefix(key: str) -> str:
    return key[: len(PREFIX) + 6]

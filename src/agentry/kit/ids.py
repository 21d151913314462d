"""Random, prefixed, non-sequential ids (`inv_…`, `ten_…`): 120 random bits, hex."""

from __future__ import annotations

import os


def new_id(prefix: str) -> str:
    return f"{prefix}_{os.urandom(15).hex()}"

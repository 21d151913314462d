"""Random, prefixed, non-sequential ids (`inv_…`, `ten_…`)."""

from __future__ import annotations

import base64
import secrets


def new_id(prefix: str) -> str:
    raw = base64.b32encode(secrets.token_bytes(15)).decode().lower()
    return f"{prefix}_{raw}"

"""Request headers shared by every route that takes them: one spelling, one description."""

from __future__ import annotations

from typing import Annotated

from fastapi import Header

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="1-255 printable ASCII characters. Same key and body within the retention: "
        "the first answer again. Same key, other body: 409 `idempotency_key_reused`.",
    ),
]

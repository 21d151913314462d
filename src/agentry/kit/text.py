"""Text a client names things with: no control characters (C0, DEL, C1).

NUL breaks PostgreSQL text columns, CR/LF forge log lines and terminal escapes hijack the
operator's `make ops-*` output. Use the patterns in `Field(pattern=...)`: they are part of the
OpenAPI schema, so clients (and the fuzzing gate) see the rule. `LABEL_PATTERN` is for one-line
names; `TEXT_PATTERN` (descriptions) also allows tab and newlines.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from pydantic import BeforeValidator

LABEL_PATTERN = r"^[^\u0000-\u001f\u007f-\u009f]*$"
TEXT_PATTERN = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$"
_LABEL = re.compile(LABEL_PATTERN)


def is_label(value: str) -> bool:
    """For names that do not come through a schema (the CLI's tenant onboarding)."""
    return bool(_LABEL.match(value))


def _iso_text(value: object) -> object:
    # pydantic's lax mode reads numbers as Unix times; the API documents ISO 8601 strings only.
    if value is not None and not isinstance(value, str | datetime):
        raise ValueError("an ISO 8601 date-time string, e.g. 2026-12-01T00:00:00Z")
    return value


IsoDateTime = Annotated[datetime, BeforeValidator(_iso_text)]

"""Upper bounds for every integer a client can send, so none reaches SQL or code unbounded.

SQLite and PostgreSQL BIGINT stop at 2^63-1 and INTEGER columns at 2^31-1; a larger value used
to reach the driver and answer 500. Use these in `Query(le=...)` / `Field(le=...)`;
`tests/kit/test_bounds.py` walks the OpenAPI document and fails on any integer without a maximum.
"""

from __future__ import annotations

INT32_MAX = 2**31 - 1  # INTEGER columns (version numbers)
INT64_MAX = 2**63 - 1  # BIGINT columns (audit sequence numbers)
STEP_MAX = 1_000_000  # progress counters an agent reports

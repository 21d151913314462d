"""Random, prefixed, non-sequential ids (`inv_…`, `ten_…`): 120 random bits, hex.

The bits come from `os.urandom`, read 3,840 bytes (256 ids) at a time: one `getrandom`
syscall per id was a measurable share of a sync call (two ids each). A forked child drops
the parent's buffer, so parent and child never hand out the same bits.
"""

from __future__ import annotations

import os
import threading

_ID_BYTES = 15
_REFILL = _ID_BYTES * 256


class _Pool:
    data = b""
    pos = 0


_lock = threading.Lock()


def _reset() -> None:
    _Pool.data, _Pool.pos = b"", 0


os.register_at_fork(after_in_child=_reset)


def new_id(prefix: str) -> str:
    with _lock:
        pos = _Pool.pos
        if pos + _ID_BYTES > len(_Pool.data):
            _Pool.data, pos = os.urandom(_REFILL), 0
        _Pool.pos = pos + _ID_BYTES
        bits = _Pool.data[pos : pos + _ID_BYTES]
    return f"{prefix}_{bits.hex()}"

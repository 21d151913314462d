"""Structured JSON log lines. Request id and tenant ride along via contextvars.

Never pass tokens, keys or payload content to a logger: log ids, statuses and timings only.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson
import structlog

_REDACT_KEYS = frozenset({"authorization", "api_key", "token", "secret", "password", "payload"})


def _redact(_logger: Any, _method: str, event: dict[str, Any]) -> dict[str, Any]:
    for key in list(event):
        if key.lower() in _REDACT_KEYS:
            event[key] = "[redacted]"
    return event


# Where access lines go when they can skip the processor chain (JSON at INFO or below).
_access_sink: Callable[[bytes], None] | None = None


def _write_stderr(line: bytes) -> None:
    out = sys.stderr.buffer
    out.write(line)
    out.flush()


def configure_logging(level: str = "INFO", *, json: bool = True) -> None:
    global _access_sink
    at = logging.getLevelName(level.upper())
    _access_sink = _write_stderr if json and at <= logging.INFO else None
    processors: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _redact,
        structlog.processors.format_exc_info,
    ]
    if json:
        # orjson + a bytes logger is structlog's documented fast path (one write per line).
        processors.append(structlog.processors.JSONRenderer(serializer=orjson.dumps))
        factory: Any = structlog.BytesLoggerFactory(sys.stderr.buffer)
    else:
        processors.append(structlog.dev.ConsoleRenderer())
        factory = structlog.PrintLoggerFactory(sys.stderr)
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(at),
        logger_factory=factory,
        cache_logger_on_first_use=True,
    )
    # httpx logs every request line at INFO (the mcp client to tool targets): URLs only, but
    # one line per tool call is noise and CPU.
    for name in ("httpx", "httpx2"):
        logging.getLogger(name).setLevel(logging.WARNING)


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    return structlog.get_logger(name)  # type: ignore[no-any-return]


class AccessLog:
    """The one line per request, rendered with one orjson call: the same JSON as the processor
    chain above (its keys, context variables, level, ISO UTC timestamp, redaction), without
    walking the chain on every request. Falls back to structlog when logs are not JSON."""

    def __init__(self, name: str) -> None:
        self._fallback = get_logger(name)

    def info(self, event: str, **fields: Any) -> None:
        sink = _access_sink
        if sink is None:
            self._fallback.info(event, **fields)
            return
        fields["event"] = event
        for key, value in structlog.contextvars.get_contextvars().items():
            fields.setdefault(key, value)
        fields["level"] = "info"
        fields["timestamp"] = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        sink(orjson.dumps(_redact(None, "info", fields)) + b"\n")

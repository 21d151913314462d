"""The access line's fast path renders what the structlog processor chain renders."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
import structlog

from agentry.kit import logging as kit_logging
from agentry.kit.logging import AccessLog, configure_logging


def _chain(event: str, **fields: Any) -> dict[str, Any]:
    line: Any = {**fields, "event": event}
    for processor in structlog.get_config()["processors"]:
        line = processor(None, "info", line)
    parsed: dict[str, Any] = orjson.loads(line)
    return parsed


def test_the_access_line_is_the_processor_chain_s_line(monkeypatch: pytest.MonkeyPatch) -> None:
    configure_logging("INFO")
    lines: list[bytes] = []
    monkeypatch.setattr(kit_logging, "_access_sink", lines.append)
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(request_id="req_12345678", tenant="ten_a", token="x")
    fields = {"method": "POST", "route": "/v1/x", "status": 201, "ms": 1.25, "tenant": None}
    try:
        AccessLog("agentry.access").info("request", **fields)
        expected = _chain("request", **fields)
    finally:
        structlog.contextvars.clear_contextvars()
    (line,) = lines
    assert line.endswith(b"\n")
    got = orjson.loads(line)
    assert got.pop("timestamp").endswith("Z")
    expected.pop("timestamp")
    assert got == expected
    assert got["token"] == "[redacted]"
    assert list(got) == list(expected)  # same key order


def test_above_info_or_as_console_text_the_chain_decides() -> None:
    for level, json in (("WARNING", True), ("INFO", False)):
        configure_logging(level, json=json)
        assert kit_logging._access_sink is None
    configure_logging("INFO")
    assert kit_logging._access_sink is not None

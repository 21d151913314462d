"""The platform never answers non-JSON (finding 6): bare NaN/Infinity from agents is wrapped."""

from __future__ import annotations

import orjson
import pytest

from agentry.invocations.service import _output_json, _strict_json


@pytest.mark.parametrize(
    "raw", [b'{"x": NaN}', b'{"x": Infinity}', b"[-Infinity]", b'{"x": 1e400}', b"not json"]
)
def test_agent_output_that_is_not_strict_json_becomes_a_json_string(raw: bytes) -> None:
    out = _output_json("application/json", raw)
    assert orjson.loads(out) == raw.decode()


def test_strict_json_output_is_passed_through_unchanged() -> None:
    raw = b'{"x": 1.5, "y": [1, 2]}'
    assert _output_json("application/json", raw) is raw


def test_stream_frames_are_each_made_strict() -> None:
    body = b'data: {"i": 0}\n\ndata: {"i": NaN}\n\n'
    frames = orjson.loads(_output_json("text/event-stream", body))
    assert frames == [{"i": 0}, '{"i": NaN}']
    assert _strict_json(b'{"i": 1}') == b'{"i": 1}'

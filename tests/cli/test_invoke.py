from __future__ import annotations

import json

import pytest

from agentry.testing.stack import Stack

pytestmark = pytest.mark.e2e


def test_agentry_invoke_prints_the_agent_output(stack: Stack) -> None:
    env = {**stack.env, "AGENTRY_URL": stack.url, "AGENTRY_API_KEY": stack.acme_key}
    stack.env, saved = env, stack.env
    try:
        result = stack.cli("invoke", "echo", '{"prompt":"hi"}')
    finally:
        stack.env = saved
    assert json.loads(result.stdout)["echo"] == "hi"


def test_agentry_invoke_reports_problem_code_and_exits_nonzero(stack: Stack) -> None:
    result = stack.cli(
        "invoke", "nope", "{}", "--url", stack.url, "--key", stack.acme_key, check=False
    )
    assert result.returncode == 1
    assert "agent_not_found" in result.stderr


def test_agentry_invoke_refuses_a_non_json_payload(stack: Stack) -> None:
    result = stack.cli("invoke", "echo", "{nope", "--url", stack.url, "--key", "k", check=False)
    assert result.returncode == 2
    assert "not JSON" in result.stderr

"""Settings: URLs follow the ports unless set, and a set URL that disagrees is refused."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from agentry.config import Settings


def test_urls_follow_the_ports() -> None:
    settings = Settings(runtime_port=8400, api_port=9000)
    assert settings.runtime_url == "http://127.0.0.1:8400"
    assert settings.effective_control_url == "http://127.0.0.1:8400"
    assert settings.effective_public_url == "http://127.0.0.1:9000"
    assert Settings(runtime_host="0.0.0.0", runtime_port=8401).runtime_url == (
        "http://127.0.0.1:8401"
    )


def test_a_url_for_this_machine_must_agree_with_its_port() -> None:
    with pytest.raises(ValidationError) as runtime:
        Settings(runtime_port=8400, runtime_url="http://127.0.0.1:8100")
    message = str(runtime.value)
    assert "AGENTRY_RUNTIME_URL" in message
    assert "AGENTRY_RUNTIME_PORT=8400" in message
    with pytest.raises(ValidationError) as api:
        Settings(api_port=9000, public_url="http://localhost:8000")
    assert "AGENTRY_API_PORT=9000" in str(api.value)


def test_urls_of_other_machines_keep_their_own_ports() -> None:
    aws = Settings(
        runtime_port=8400, runtime_url="https://bedrock-agentcore.eu-west-1.amazonaws.com"
    )
    assert aws.runtime_url == "https://bedrock-agentcore.eu-west-1.amazonaws.com"
    behind_lb = Settings(api_port=8080, public_url="https://api.example.com")
    assert behind_lb.effective_public_url == "https://api.example.com"
    agreeing = Settings(runtime_port=8400, runtime_url="http://127.0.0.1:8400")
    assert agreeing.runtime_url == "http://127.0.0.1:8400"

"""Problem answers: every 401 carries WWW-Authenticate (finding 9), on agent routes too."""

from __future__ import annotations

import pytest

from agentry.testing.inproc import InProcApp


@pytest.mark.parametrize(
    ("path", "credential"),
    [
        ("/agent/v1/chat/completions", None),
        ("/agent/v1/chat/completions", "not-a-token"),
        ("/agent/v1/jobs/job_x/progress", None),
        ("/agent/v1/jobs/job_x/progress", "x" * 20_000),  # oversized: refused unparsed
        ("/v1/agents/echo/invoke", None),
    ],
)
async def test_every_401_names_the_bearer_scheme(
    api: InProcApp, path: str, credential: str | None
) -> None:
    async with api.client(credential) as c:
        r = await c.post(path, json={"messages": []})
    assert r.status_code == 401, r.text
    assert r.headers["www-authenticate"].startswith('Bearer realm="agentry"')
    assert r.json()["request_id"] == r.headers["x-request-id"]

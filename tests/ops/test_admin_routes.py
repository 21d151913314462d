"""The operator routes in-process: operators only (tenant admins of two tenants get 403),
problem codes for bad input, and the health summary and gauges when the runtime is down."""

from __future__ import annotations

import pytest

from agentry.identity.principal import Role
from agentry.testing.inproc import InProcApp

ROUTES = [
    ("GET", "/v1/admin/jobs", None),
    ("POST", "/v1/admin/jobs/job_x/cancel", None),
    ("GET", "/v1/admin/sessions", None),
    ("POST", "/v1/admin/sessions/stop", {"session_id": "s" * 40}),
    ("GET", "/v1/admin/health", None),
]


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
async def test_tenant_admins_of_either_tenant_are_refused(
    api: InProcApp, method: str, path: str, body: dict[str, str] | None
) -> None:
    for slug in ("acme", "globex"):
        key = (await api.key(await api.tenant(slug))).secret
        async with api.client(key) as client:
            answer = await client.request(method, path, json=body)
        assert answer.status_code == 403, (slug, answer.text)
        assert answer.headers["content-type"].startswith("application/problem+json")


async def test_bad_input_and_unknown_ids_are_problems(api: InProcApp) -> None:
    op = (await api.key(await api.tenant("ops"), Role.operator)).secret
    async with api.client(op) as client:
        bad = await client.get("/v1/admin/jobs", params={"tenant_id": "not a tenant"})
        assert bad.status_code == 422
        assert bad.json()["code"] == "validation_error"
        status = await client.get("/v1/admin/jobs", params={"status": "lost"})
        assert status.status_code == 422
        missing = await client.post("/v1/admin/jobs/job_nope/cancel")
        assert missing.status_code == 404
        assert missing.json()["code"] == "job_not_found"
        extra = await client.post("/v1/admin/sessions/stop", json={"session_id": "x", "y": 1})
        assert extra.status_code == 422
        assert (await client.get("/v1/admin/jobs")).json() == {"items": []}


async def test_health_and_gauges_when_the_runtime_is_down(api: InProcApp) -> None:
    op = (await api.key(await api.tenant("ops"), Role.operator)).secret
    async with api.client(op) as client:
        health = (await client.get("/v1/admin/health")).json()
        scrape = (await client.get("/metrics")).text
    assert health["checks"]["database"] == "ok"
    assert health["checks"]["runtime"] == "unreachable"
    assert health["status"] == "attention"
    assert health["attention"] == ["runtime: unreachable"]
    assert health["sessions"] is None
    assert "agentry_ready 0.0" in scrape
    assert 'agentry_jobs{status="queued"} 0.0' in scrape
    assert "agentry_runtime_session_quota 1000.0" in scrape
    assert "agentry_runtime_sessions " not in scrape  # unknown, not zero

"""RUNBOOK-001 through the API: the failover lock, the switch, verify; operators only."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from agentry.config import RegionEndpoints
from agentry.identity.principal import Role
from agentry.models import AuditEvent
from agentry.placement.regional import RegionalRuntime
from agentry.testing.inproc import InProcApp, running_app


@pytest.fixture
def regions() -> Iterator[dict[str, RegionEndpoints]]:
    """Two region URLs where nothing listens: ports bound but never listened on, held for the
    test, so no other process can take them meanwhile (connections are refused)."""
    with socket.socket() as west, socket.socket() as central:
        west.bind(("127.0.0.1", 0))
        central.bind(("127.0.0.1", 0))
        yield {
            "eu-west-1": RegionEndpoints(runtime_url=f"http://127.0.0.1:{west.getsockname()[1]}"),
            "eu-central-1": RegionEndpoints(
                runtime_url=f"http://127.0.0.1:{central.getsockname()[1]}"
            ),
        }


@pytest.fixture
async def app(
    database_url: str, tmp_path: Path, regions: dict[str, RegionEndpoints]
) -> AsyncIterator[InProcApp]:
    async with running_app(
        database_url,
        tmp_path,
        runtime_regions=regions,
        runtime_region_poll_s=0.1,
        auth_failure_limit="10000/minute",
    ) as running:
        yield running


async def _actions(app: InProcApp) -> list[tuple[str, dict[str, object]]]:
    async with app.platform.sessionmaker() as session:
        rows = (await session.execute(select(AuditEvent).order_by(AuditEvent.seq))).scalars()
        return [(r.action, r.details) for r in rows if r.action.startswith("runtime.")]


async def test_lock_switch_verify_release(app: InProcApp) -> None:
    platform_tenant = await app.tenant("platform")
    alice = (await app.key(platform_tenant, Role.operator)).secret
    bob = (await app.key(platform_tenant, Role.operator)).secret
    runtime = app.platform.runtime
    assert isinstance(runtime, RegionalRuntime)
    async with app.client(alice) as a, app.client(bob) as b:
        status = (await a.get("/v1/admin/runtime/placement")).json()
        assert status["active_region"] == "eu-west-1"
        assert status["regions"] == ["eu-west-1", "eu-central-1"]
        assert status["lock"] is None

        # The switch needs the lock, and only one operator holds it.
        r = await a.put("/v1/admin/runtime/region", json={"region": "eu-central-1"})
        assert r.status_code == 409
        assert r.json()["code"] == "failover_lock_required"
        r = await a.post("/v1/admin/runtime/failover-lock", json={"reason": "INC-1 outage"})
        assert r.status_code == 200
        assert r.json()["lock"]["reason"] == "INC-1 outage"
        r = await b.post("/v1/admin/runtime/failover-lock", json={"reason": "me too"})
        assert r.status_code == 409
        assert r.json()["code"] == "failover_locked"
        r = await b.put("/v1/admin/runtime/region", json={"region": "eu-central-1"})
        assert r.status_code == 409
        assert r.json()["code"] == "failover_lock_required"

        # Bad input: 4xx problem+json with a stable code, nothing written.
        r = await a.put("/v1/admin/runtime/region", json={"region": "us-east-1"})
        assert r.status_code == 422
        assert r.json()["code"] == "unknown_runtime_region"
        r = await a.post("/v1/admin/runtime/failover-lock", json={"reason": ""})
        assert r.status_code == 422
        assert r.headers["content-type"].startswith("application/problem+json")

        r = await a.put("/v1/admin/runtime/region", json={"region": "eu-central-1"})
        assert r.status_code == 200, r.text
        assert r.json()["changed"] is True
        assert r.json()["generation"] == 1
        again = await a.put("/v1/admin/runtime/region", json={"region": "eu-central-1"})
        assert again.json()["changed"] is False
        assert again.json()["generation"] == 1

        # This process follows within its poll interval, without a restart.
        for _ in range(50):
            if runtime.state.active == "eu-central-1":
                break
            await asyncio.sleep(0.05)
        assert runtime.state.active == "eu-central-1"

        # Nothing listens on the emulator ports: verify says so and fails.
        v = (await a.get("/v1/admin/runtime/verify")).json()
        assert v["ok"] is False
        assert v["applied_here"] is True
        assert v["check"]["region"] == "eu-central-1"
        assert v["check"]["data_plane"] == "unreachable"
        r = await a.get("/v1/admin/runtime/verify", params={"region": "ap-south-1"})
        assert r.status_code == 422

        r = await b.delete("/v1/admin/runtime/failover-lock")
        assert r.status_code == 409
        assert r.json()["code"] == "failover_locked"
        r = await a.delete("/v1/admin/runtime/failover-lock")
        assert r.status_code == 200
        assert r.json()["lock"] is None
        r = await a.delete("/v1/admin/runtime/failover-lock")
        assert r.status_code == 409
        assert r.json()["code"] == "failover_not_locked"

    actions = await _actions(app)
    assert [a for a, _ in actions] == [
        "runtime.failover.lock_taken",
        "runtime.region.switched",
        "runtime.failover.lock_released",
    ]
    switched = actions[1][1]
    assert switched["from"] == "eu-west-1"
    assert switched["to"] == "eu-central-1"
    assert switched["reason"] == "INC-1 outage"


async def test_forced_release_is_audited(app: InProcApp) -> None:
    platform_tenant = await app.tenant("platform")
    alice = (await app.key(platform_tenant, Role.operator)).secret
    bob = (await app.key(platform_tenant, Role.operator)).secret
    async with app.client(alice) as a, app.client(bob) as b:
        assert (await a.post("/v1/admin/runtime/failover-lock", json={"reason": "x"})).is_success
        r = await b.delete("/v1/admin/runtime/failover-lock", params={"force": "true"})
        assert r.status_code == 200
        assert r.json()["lock"] is None
    actions = await _actions(app)
    assert actions[-1][0] == "runtime.failover.lock_released"
    assert actions[-1][1]["forced"] is True


async def test_tenants_cannot_touch_placement(app: InProcApp) -> None:
    """Two tenants' admins (and developers): every placement endpoint refuses them."""
    for slug in ("acme", "globex"):
        tenant = await app.tenant(slug)
        for role in (Role.admin, Role.developer):
            key = (await app.key(tenant, role)).secret
            async with app.client(key) as c:
                for method, path, body in (
                    ("GET", "/v1/admin/runtime/placement", None),
                    ("POST", "/v1/admin/runtime/failover-lock", {"reason": "x"}),
                    ("PUT", "/v1/admin/runtime/region", {"region": "eu-central-1"}),
                    ("GET", "/v1/admin/runtime/verify", None),
                    ("DELETE", "/v1/admin/runtime/failover-lock", None),
                ):
                    r = await c.request(method, path, json=body)
                    assert r.status_code == 403, (slug, role, path, r.text)
    async with app.client() as anonymous:
        assert (await anonymous.get("/v1/admin/runtime/placement")).status_code == 401
    assert await _actions(app) == []

"""Operator tenant administration end to end: onboard, invoke at once, suspend, erase."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import select

from agentry.kit.db.engine import create_engine
from agentry.models import Base
from agentry.testing.stack import Stack

pytestmark = pytest.mark.e2e


def _rows_mentioning(stack: Stack, value: str) -> dict[str, int]:
    """Rows of any table with a column equal to `value` (the erased tenant's id)."""
    url = stack.env["AGENTRY_DATABASE_URL"] or f"sqlite+aiosqlite:///{stack.home / 'agentry.db'}"

    async def scan() -> dict[str, int]:
        engine = create_engine(url)
        found: dict[str, int] = {}
        try:
            async with engine.connect() as conn:
                for table in Base.metadata.sorted_tables:
                    for column in table.columns:
                        if (
                            not isinstance(column.type.python_type, type)
                            or column.type.python_type is not str
                        ):
                            continue
                        rows = (await conn.execute(select(table).where(column == value))).all()
                        if rows:
                            found[f"{table.name}.{column.name}"] = len(rows)
        finally:
            await engine.dispose()
        return found

    return asyncio.run(scan())


def test_onboard_invoke_suspend_reactivate_erase(stack: Stack) -> None:
    slug = f"t-{uuid.uuid4().hex[:8]}"
    tid = str(uuid.uuid4())
    with stack.client(stack.operator_key) as op:
        r = op.post(
            "/v1/admin/tenants",
            json={"slug": slug, "name": "Initech", "tier": "premium", "entra_tenant_ids": [tid]},
        )
        assert r.status_code == 201, r.text
        tenant = r.json()
        assert tenant["entra_tenant_ids"] == [tid]
        assert op.post("/v1/admin/tenants", json={"slug": slug, "name": "x"}).status_code == 409
        mass = op.post("/v1/admin/tenants", json={"slug": slug + "x", "name": "x", "id": "ten_1"})
        assert mass.status_code == 422

    admin_key = tenant["admin_key"]
    with stack.client(admin_key) as c:
        invoked = c.post("/v1/agents/echo/invoke", json={"input": {"prompt": "hello"}})
        assert invoked.status_code == 200, invoked.text  # the first admin key works at once
        assert c.get("/v1/me").json()["tenant_slug"] == slug
        assert c.get(f"/v1/admin/tenants/{tenant['id']}").status_code == 403  # not an operator

    with stack.client(stack.operator_key) as op:
        assert (
            op.patch(f"/v1/admin/tenants/{tenant['id']}", json={"tier": "basic"}).json()["tier"]
            == "basic"
        )
        assert (
            op.patch(f"/v1/admin/tenants/{tenant['id']}", json={"status": "x"}).status_code == 422
        )
        assert op.post(f"/v1/admin/tenants/{tenant['id']}/suspend").status_code == 200
    with stack.client(admin_key) as c:
        for method, path in (("POST", "/v1/agents/echo/invoke"), ("GET", "/v1/api-keys")):
            r = c.request(method, path, json={"input": {}} if method == "POST" else None)
            assert r.status_code == 403, (path, r.text)
            assert r.json()["code"] == "tenant_suspended"
    with stack.client(stack.operator_key) as op:
        assert op.post(f"/v1/admin/tenants/{tenant['id']}/reactivate").status_code == 200
    with stack.client(admin_key) as c:
        assert c.get("/v1/api-keys").status_code == 200

    with stack.client(stack.operator_key) as op:
        erased = op.delete(f"/v1/admin/tenants/{tenant['id']}")
        assert erased.status_code == 200, erased.text
        assert erased.json()["rows_deleted"]["api_keys"] == 1
        assert op.get(f"/v1/admin/tenants/{tenant['id']}").status_code == 404
        audit = op.get("/v1/admin/audit", params={"limit": 100}).json()["items"]
    with stack.client(admin_key) as c:
        assert c.get("/v1/me").status_code == 401
    assert _rows_mentioning(stack, tenant["id"]) == {}
    actions = {e["action"] for e in audit}
    assert {"tenant.onboard", "tenant.tier", "tenant.suspend", "tenant.erase"} <= actions
    mine = [e for e in audit if e["action"].startswith("tenant.")]
    assert all(tenant["id"] not in str(e) for e in mine)  # pseudonymised


def test_audit_holds_no_secret_and_verifies(stack: Stack) -> None:
    with stack.client(stack.acme_key) as c:
        c.post("/v1/api-keys", json={"name": "audit-probe"})
        tenant_audit = c.get("/v1/audit").json()["items"]
    with stack.client("agy_" + "Z" * 38) as bad:
        assert bad.get("/v1/me").status_code == 401
    with stack.client(stack.operator_key) as op:
        everything = op.get("/v1/admin/audit", params={"limit": 100}).text
    assert tenant_audit
    assert all("globex" not in str(e) for e in tenant_audit)
    for secret in (stack.acme_key, stack.globex_key, stack.operator_key, "agy_ZZZZ"):
        assert secret not in everything
    assert "eyJ" not in everything  # no JWT either
    result = stack.cli("ops", "audit", "verify", "--json", check=False)
    assert result.returncode == 0, result.stderr
    assert '"ok": true' in result.stdout

from __future__ import annotations

from pathlib import Path

from agentry.testing.inproc import running_app


async def test_failed_auth_from_one_source_is_throttled(
    tmp_path: Path, sqlite_template: Path
) -> None:
    import shutil

    db = tmp_path / "agentry.db"
    shutil.copy(sqlite_template, db)
    async with running_app(
        f"sqlite+aiosqlite:///{db}", tmp_path, auth_failure_limit="3/minute"
    ) as api:
        tenant = await api.tenant("acme")
        good = (await api.key(tenant)).secret
        async with api.client("agy_" + "x" * 38) as bad:
            codes = [(await bad.get("/v1/me")).status_code for _ in range(3)]
            assert codes == [401, 401, 401]
            limited = await bad.get("/v1/me")
        assert limited.status_code == 429
        assert limited.json()["code"] == "auth_throttled"
        assert int(limited.headers["retry-after"]) >= 1
        async with api.client(good) as c:  # the same source stays blocked, even with a good key
            assert (await c.get("/v1/me")).status_code == 429
        async with api.client() as anon:  # health stays reachable
            assert (await anon.get("/healthz")).status_code == 200

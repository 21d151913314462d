"""The API serves the built SPA at /app: client routes get index.html, files stay inside."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentry.config import DEV_SPA_CLIENT_ID
from agentry.testing.inproc import InProcApp, running_app


@pytest.fixture
async def spa(database_url: str, tmp_path: Path) -> InProcApp:  # type: ignore[misc]
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text("<!doctype html><div id=root></div>")
    (dist / "assets" / "index-abc.js").write_text("console.log(1)")
    (tmp_path / "secret.txt").write_text("outside")
    async with running_app(database_url, tmp_path / "home", web_dir=dist) as app:
        yield app


async def test_index_for_client_routes_and_files_with_their_cache(spa: InProcApp) -> None:
    async with spa.client() as client:
        page = await client.get("/app/keys")
        asset = await client.get("/app/assets/index-abc.js")
        missing = await client.get("/app/assets/gone.js")
        root = await client.get("/")
    assert page.status_code == 200
    assert "id=root" in page.text
    assert page.headers["cache-control"] == "no-cache"
    assert asset.status_code == 200
    assert asset.text == "console.log(1)"
    assert "immutable" in asset.headers["cache-control"]
    assert missing.status_code == 404
    assert root.status_code == 307
    assert root.headers["location"] == "/app/"


async def test_paths_never_leave_the_build(spa: InProcApp) -> None:
    async with spa.client() as client:
        for path in (
            "/app/../secret.txt",
            "/app/%2e%2e/secret.txt",
            "/app/assets/../../secret.txt",
        ):
            r = await client.get(path)
            assert "outside" not in r.text, path


async def test_config_names_the_dev_provider_locally(spa: InProcApp) -> None:
    async with spa.client() as client:
        r = await client.get("/app/config.json")
    body = r.json()
    assert body["client_id"] == DEV_SPA_CLIENT_ID
    assert body["authority"].endswith("/dev-idp/organizations/v2.0")
    assert body["dev_sign_in"] is True
    # The authority's discovery document exists (what oidc-client-ts fetches first).
    async with spa.client() as client:
        disco = await client.get(
            body["authority"].split("127.0.0.1:8000", 1)[-1] + "/.well-known/openid-configuration"
        )
    assert disco.status_code == 200
    assert "code_challenge_methods_supported" in disco.json()


async def test_not_built_says_how(database_url: str, tmp_path: Path) -> None:
    async with (
        running_app(database_url, tmp_path, web_dir=tmp_path / "nothing") as app,
        app.client() as client,
    ):
        r = await client.get("/app/")
    assert r.status_code == 404
    assert "make web-build" in r.text

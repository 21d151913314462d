"""Only health, metrics, docs (local only), JWKS/discovery and the dev provider are public."""

from __future__ import annotations

import re

from agentry.app import create_app
from agentry.config import Settings
from agentry.identity.auth import authenticate
from agentry.kit.routes import iter_routes

PUBLIC = re.compile(r"^(/healthz|/readyz|/metrics|/docs.*|/openapi\.json|/dev-idp/.*)$")


def test_every_non_public_route_has_an_auth_dependency() -> None:
    routes = list(iter_routes(create_app(Settings(profile="local"), migrate=False)))
    assert any(r.path == "/v1/api-keys" for r in routes)  # the enumeration sees included routers
    unguarded = [
        f"{sorted(r.methods)} {r.path}"
        for r in routes
        if not PUBLIC.match(r.path) and not r.depends_on(authenticate)
    ]
    assert unguarded == []


def test_dev_provider_and_docs_do_not_exist_outside_local() -> None:
    settings = Settings(profile="aws", api_key_pepper="x", runtime_mode="agentcore")
    paths = {r.path for r in iter_routes(create_app(settings, migrate=False))}
    assert not any(p.startswith("/dev-idp") or p.startswith("/docs") for p in paths)
    assert "/v1/me" in paths

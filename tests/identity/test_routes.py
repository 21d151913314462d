"""Only health, metrics, docs (local only), JWKS/discovery, the dev provider and the SPA's
static files (`/`, `/app/...`: no tenant data) are public."""

from __future__ import annotations

import re

from agentry.app import create_app
from agentry.config import Settings
from agentry.gateway.endpoints import invocation_claims
from agentry.identity.auth import authenticate
from agentry.jobs.agent_endpoints import invocation_token
from agentry.kit.routes import iter_routes

PUBLIC = re.compile(
    r"^(/healthz|/readyz|/metrics|/docs.*|/openapi\.json|/dev-idp/.*|/|/app|/app/.*"
    r"|/\.well-known/(jwks\.json|openid-configuration))$"
)
# Routes agents call from inside the runtime: guarded by the invocation token instead. The MCP
# mount checks it in its first interceptor (TokenCheck; tests/gateway prove the 401s).
TOKEN_CHECKED_MOUNTS = {"/agent/mcp"}
AGENT_GUARDS = (invocation_token, invocation_claims)


def test_every_non_public_route_has_an_auth_dependency() -> None:
    app = create_app(Settings(profile="local"), migrate=False)
    routes = list(iter_routes(app))
    assert any(r.path == "/v1/api-keys" for r in routes)  # the enumeration sees included routers
    # The hot routes run ahead of FastAPI and call `authenticate` themselves; each must have a
    # guarded FastAPI twin (tests/invocations/test_hot_routes.py: every answer, 401s included,
    # equals the twin's).
    assert app.hot is not None
    hot = {r.path for r in app.hot.routes}
    assert hot == {
        "/v1/agents/{agent}/invoke",
        "/v1/agents/{agent}/stream",
        "/v1/agents/{agent}/jobs",  # tests/jobs/test_hot_accept.py holds it equal to its twin
    }
    guarded = {r.path for r in routes if r.dependant is not None and r.depends_on(authenticate)}
    assert hot <= guarded
    unguarded = [
        f"{sorted(r.methods)} {r.path}"
        for r in routes
        if not PUBLIC.match(r.path)
        and r.path not in TOKEN_CHECKED_MOUNTS
        and not r.depends_on(authenticate)
        and not (r.path.startswith("/agent/") and any(r.depends_on(g) for g in AGENT_GUARDS))
    ]
    assert unguarded == []


def test_dev_provider_and_docs_do_not_exist_outside_local() -> None:
    settings = Settings(
        profile="aws",
        api_key_pepper="x",
        runtime_mode="agentcore",
        public_url="https://api.agentry.example",
    )
    paths = {r.path for r in iter_routes(create_app(settings, migrate=False))}
    assert not any(p.startswith("/dev-idp") or p.startswith("/docs") for p in paths)
    assert "/v1/me" in paths

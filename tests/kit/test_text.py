"""Control characters are refused in names (finding 9), by schema and in the service."""

from __future__ import annotations

import pytest

from agentry.identity.principal import Role
from agentry.kit.db.engine import session_scope
from agentry.kit.errors import ValidationFailed
from agentry.kit.text import is_label
from agentry.tenants.service import create_tenant
from agentry.testing.inproc import InProcApp

BAD = ["nul\x00byte", "line\nbreak", "carriage\rreturn", "esc\x1b[31m", "del\x7f", "c1\x85"]


@pytest.mark.parametrize("name", BAD)
def test_is_label_refuses_control_characters(name: str) -> None:
    assert not is_label(name)


async def test_names_with_control_characters_are_422_everywhere(api: InProcApp) -> None:
    tenant = await api.tenant("names")
    admin = await api.key(tenant)
    operator = await api.key(tenant, Role.operator)
    developer = await api.key(tenant, Role.developer)
    calls = [
        (admin.secret, "/v1/api-keys", lambda n: {"name": n}),
        (admin.secret, "/v1/webhooks", lambda n: {"url": "https://x.example/h", "description": n}),
        (operator.secret, "/v1/admin/tenants", lambda n: {"slug": "ctl-probe", "name": n}),
        (developer.secret, "/v1/registry/agents", lambda n: {"name": n}),
    ]
    for credential, path, body in calls:
        async with api.client(credential) as c:
            for name in BAD:
                r = await c.post(path, json=body(name))
                assert r.status_code == 422, (path, repr(name), r.text)


async def test_service_refuses_control_characters_in_a_tenant_name(api: InProcApp) -> None:
    async with session_scope(api.platform.sessionmaker) as session:
        with pytest.raises(ValidationFailed):
            await create_tenant(session, slug="ctl-cli", display_name="a\x00b", tier="basic")

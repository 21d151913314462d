"""Every integer a client can send is bounded (finding 4: `before_seq` beyond 64 bits was a 500).

Walks the OpenAPI document, so a new route with an unbounded integer fails here.
"""

from __future__ import annotations

import pytest

from agentry.identity.principal import Role
from agentry.kit.bounds import INT64_MAX
from agentry.testing.inproc import InProcApp
from agentry.testing.openapi import client_integers, load_document


def test_every_client_integer_in_the_openapi_document_has_a_maximum() -> None:
    found = list(client_integers(load_document()))
    assert any("before_seq" in where for where, _ in found)  # the walk reaches parameters
    assert any("ProgressIn.step" in where for where, _ in found)  # and body $defs
    unbounded = [
        where
        for where, schema in found
        if "maximum" not in schema and "exclusiveMaximum" not in schema
    ]
    assert unbounded == [], "integers without a maximum:\n" + "\n".join(unbounded)


@pytest.mark.parametrize("path", ["/v1/audit", "/v1/admin/audit"])
@pytest.mark.parametrize("value", [str(2**64), str(INT64_MAX + 1), "9" * 40])
async def test_audit_before_seq_beyond_64_bits_is_422_with_request_id(
    api: InProcApp, path: str, value: str
) -> None:
    tenant = await api.tenant("bounds")
    role = Role.operator if path.startswith("/v1/admin") else Role.admin
    key = await api.key(tenant, role)
    async with api.client(key.secret) as c:
        r = await c.get(path, params={"before_seq": value})
        assert r.status_code == 422, r.text
        body = r.json()
        assert body["code"] == "validation_error"
        assert body["request_id"] == r.headers["x-request-id"] != ""
        again = await c.get(path, params={"before_seq": str(INT64_MAX)})  # same connection
        assert again.status_code == 200, again.text

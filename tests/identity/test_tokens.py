"""Entra-shaped access tokens: accepted when right, 401 `invalid_token` for every forgery."""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Callable
from typing import Any

import jwt
import orjson
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import update

from agentry.devidp.users import DevUser
from agentry.kit.db.engine import session_scope
from agentry.models import Tenant
from agentry.testing.inproc import InProcApp

ACME_TID = "1a000000-0000-4000-8000-000000000001"
OTHER_TID = "2b000000-0000-4000-8000-000000000002"
PLATFORM_TID = "3c000000-0000-4000-8000-000000000003"


def _user(tid: str, roles: list[str] | None = None, scp: str = "") -> DevUser:
    return DevUser("u@test", "U", tid, str(uuid.uuid4()), roles or [], scp)


def _claims(api: InProcApp, tid: str = ACME_TID, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "ver": "2.0",
        "iss": api.settings.effective_issuer_template.replace("{tid}", tid),
        "aud": api.settings.effective_entra_client_id,
        "tid": tid,
        "oid": str(uuid.uuid4()),
        "roles": ["Agentry.Admin"],
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "email": "someone@example.com",
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def _sign(api: InProcApp, claims: dict[str, Any]) -> str:
    kid, key = api.idp.keys.current()
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


@pytest.fixture
async def acme(api: InProcApp) -> InProcApp:
    await api.tenant("acme", entra_ids=[ACME_TID])
    await api.tenant("platform", entra_ids=[PLATFORM_TID])
    return api


async def _me(api: InProcApp, token: str) -> Any:
    async with api.client(token) as c:
        return await c.get("/v1/me")


async def test_dev_provider_token_gives_tenant_and_role(acme: InProcApp) -> None:
    token = acme.idp.access_token(_user(ACME_TID, ["Agentry.Admin"]), client_id="spa")
    r = await _me(acme, token)
    assert r.status_code == 200, r.text
    assert r.json()["tenant_slug"] == "acme"
    assert r.json()["role"] == "admin"
    assert r.json()["subject"].startswith(f"entra:{ACME_TID}/")


async def test_delegated_scope_without_app_role_is_a_member(acme: InProcApp) -> None:
    token = acme.idp.access_token(_user(ACME_TID, scp="Agentry.Access"), client_id="spa")
    async with acme.client(token) as c:
        assert (await c.get("/v1/me")).json()["role"] == "member"
        denied = await c.get("/v1/api-keys")
    assert denied.status_code == 403
    assert denied.json()["code"] == "insufficient_scope"


async def test_operator_role_counts_only_in_the_platform_directory(acme: InProcApp) -> None:
    # A customer's directory admin can grant any app role in their own directory.
    customer = acme.idp.access_token(_user(ACME_TID, ["Agentry.Operator"]), client_id="spa")
    assert (await _me(acme, customer)).status_code == 401
    mixed = acme.idp.access_token(
        _user(ACME_TID, ["Agentry.Operator", "Agentry.Member"]), client_id="spa"
    )
    assert (await _me(acme, mixed)).json()["role"] == "member"
    operator = acme.idp.access_token(_user(PLATFORM_TID, ["Agentry.Operator"]), client_id="spa")
    assert (await _me(acme, operator)).json()["role"] == "operator"


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(data)).rstrip(b"=").decode()


def _alg_none(api: InProcApp) -> str:
    return f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(_claims(api))}."


def _hs256_with_public_key(api: InProcApp) -> str:
    kid, key = api.idp.keys.current()
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = _b64({"alg": "HS256", "typ": "JWT", "kid": kid})
    body = _b64(_claims(api))
    import hashlib
    import hmac

    sig = hmac.digest(public_pem, f"{header}.{body}".encode(), hashlib.sha256)
    return f"{header}.{body}.{base64.urlsafe_b64encode(sig).rstrip(b'=').decode()}"


def _unknown_kid(api: InProcApp) -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return jwt.encode(_claims(api), key, algorithm="RS256", headers={"kid": "attacker-kid"})


def _known_kid_other_key(api: InProcApp) -> str:
    kid, _ = api.idp.keys.current()
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return jwt.encode(_claims(api), key, algorithm="RS256", headers={"kid": kid})


FORGERIES: dict[str, Callable[[InProcApp], str]] = {
    "alg_none": _alg_none,
    "hs256_signed_with_public_key": _hs256_with_public_key,
    "wrong_aud": lambda a: _sign(a, _claims(a, aud="00000000-0000-4000-8000-00000000dead")),
    "wrong_iss": lambda a: _sign(
        a, _claims(a, iss=f"https://login.microsoftonline.com/{ACME_TID}/v2.0")
    ),
    "iss_of_other_tid": lambda a: _sign(
        a, _claims(a, iss=a.settings.effective_issuer_template.replace("{tid}", OTHER_TID))
    ),
    "expired": lambda a: _sign(a, _claims(a, exp=int(time.time()) - 120)),
    "not_yet_valid": lambda a: _sign(a, _claims(a, nbf=int(time.time()) + 300)),
    "missing_exp": lambda a: _sign(a, _claims(a, exp=None)),
    "tid_not_a_guid": lambda a: _sign(
        a, _claims(a, tid="acme", iss=a.settings.effective_issuer_template.replace("{tid}", "acme"))
    ),
    "v1_token": lambda a: _sign(a, _claims(a, ver="1.0")),
    "no_role": lambda a: _sign(a, _claims(a, roles=None)),
    "unknown_kid": _unknown_kid,
    "bad_signature": _known_kid_other_key,
    "garbage": lambda _a: "not.a.jwt",
    "garbage_base64": lambda _a: "eyJhbGciOiJSUzI1NiJ9.e30.AAAA",
}


async def test_forged_or_broken_tokens_are_401_invalid_token(acme: InProcApp) -> None:
    good = await _me(acme, _sign(acme, _claims(acme)))
    assert good.status_code == 200, good.text  # the same shape, unforged, is accepted
    wrong = {}
    for case, forge in sorted(FORGERIES.items()):
        r = await _me(acme, forge(acme))
        if r.status_code != 401 or r.json()["code"] != "invalid_token":
            wrong[case] = (r.status_code, r.text)
        assert r.headers.get("www-authenticate", "").startswith("Bearer")
    assert wrong == {}


async def test_a_genuine_token_of_an_unknown_directory_says_not_onboarded(
    acme: InProcApp,
) -> None:
    issuer = acme.settings.effective_issuer_template.replace("{tid}", OTHER_TID)
    r = await _me(acme, _sign(acme, _claims(acme, tid=OTHER_TID, iss=issuer)))
    assert r.status_code == 401
    assert r.json()["code"] == "tenant_not_onboarded"
    assert r.headers["www-authenticate"].startswith("Bearer")
    # A forged one of that directory is still just invalid (nothing learned about tenants).
    kid, _ = acme.idp.keys.current()
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    claims = _claims(acme, tid=OTHER_TID, iss=issuer)
    forged = jwt.encode(claims, other_key, algorithm="RS256", headers={"kid": kid})
    assert (await _me(acme, forged)).json()["code"] == "invalid_token"


async def test_email_and_upn_never_grant_a_role(acme: InProcApp) -> None:
    token = _sign(acme, _claims(acme, roles=None, upn="admin@acme", email="admin@acme"))
    assert (await _me(acme, token)).status_code == 401


async def test_key_rotated_into_jwks_is_accepted_without_restart(acme: InProcApp) -> None:
    first = _sign(acme, _claims(acme))
    assert (await _me(acme, first)).status_code == 200
    acme.jwks._interval = 0  # no refetch rate limit for this test
    acme.idp.keys.rotate()
    rotated = _sign(acme, _claims(acme))
    assert jwt.get_unverified_header(rotated)["kid"] != jwt.get_unverified_header(first)["kid"]
    assert (await _me(acme, rotated)).status_code == 200
    assert (await _me(acme, first)).status_code == 200  # the old key is still published


async def test_unknown_kid_refetch_is_rate_limited(acme: InProcApp) -> None:
    assert (await _me(acme, _sign(acme, _claims(acme)))).status_code == 200
    calls = 0
    fetch = acme.jwks._fetch

    async def counting() -> dict[str, Any]:
        nonlocal calls
        calls += 1
        return await fetch()

    acme.jwks._fetch = counting
    acme.jwks._interval = 3600
    acme.jwks._fetched_at = 0.0 if acme.jwks._fetched_at is None else acme.jwks._fetched_at
    for _ in range(5):
        assert (await _me(acme, _unknown_kid(acme))).status_code == 401
    assert calls == 0  # fetched moments ago: forged kids cause no outbound calls


async def test_suspended_tenant_token_gets_403(acme: InProcApp) -> None:
    token = _sign(acme, _claims(acme))
    assert (await _me(acme, token)).status_code == 200
    async with session_scope(acme.platform.sessionmaker) as session:
        await session.execute(
            update(Tenant).where(Tenant.slug == "acme").values(status="suspended")
        )
    assert acme.platform.tokens is not None
    acme.platform.tokens.forget()
    r = await _me(acme, token)
    assert r.status_code == 403
    assert r.json()["code"] == "tenant_suspended"

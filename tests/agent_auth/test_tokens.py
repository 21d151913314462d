from __future__ import annotations

import time
from pathlib import Path

import jwt
import pytest

from agentry.agent_auth.claims import InvalidInvocationToken, InvocationEnded
from agentry.agent_auth.tokens import (
    JWKS_PATH,
    LEEWAY_S,
    MAX_TOKEN_CHARS,
    TokenSigner,
    TokenVerifier,
)

ISSUER = "https://api.agentry.test"


def _sign(signer: TokenSigner, invocation: str = "job_1", **kw: object) -> str:
    return signer.sign(
        tenant_id="ten_a",
        tier="premium",
        agent="longrun",
        version=3,
        invocation_id=invocation,
        session_id="ten_a-abc",
        **kw,  # type: ignore[arg-type]
    )


def test_sign_verify_roundtrip_and_jwks(tmp_path: Path) -> None:
    signer = TokenSigner(tmp_path, issuer=ISSUER, ttl_s=60)
    claims = signer.verify(_sign(signer, scopes=("model", "tools"), tools=["b", "a"]))
    assert (claims.tenant_id, claims.agent, claims.version) == ("ten_a", "longrun", 3)
    assert claims.invocation_id == "job_1"
    assert claims.scopes == {"model", "tools"}
    assert claims.tools == {"a", "b"}
    assert claims.expires_at <= time.time() + 61
    # A checker with only the JWKS accepts the token.
    jwk = signer.jwks()["keys"][0]
    assert jwk["kid"] == signer.kid
    assert "d" not in jwk  # public part only
    data = jwt.decode(
        _sign(signer), jwt.PyJWK(jwk).key, algorithms=["RS256"], audience="agentry-agent"
    )
    assert data["tenant"] == "ten_a"
    assert data["iss"] == ISSUER


def test_discovery_document_names_issuer_and_keys(tmp_path: Path) -> None:
    signer = TokenSigner(tmp_path, issuer=ISSUER + "/")
    doc = signer.discovery()
    assert doc["issuer"] == ISSUER  # no trailing slash: it must equal the tokens' `iss`
    assert doc["jwks_uri"] == ISSUER + JWKS_PATH
    assert doc["id_token_signing_alg_values_supported"] == ["RS256"]
    assert set(doc["scopes_supported"]) == {"model", "tools", "jobs", "agents"}
    assert jwt.decode(_sign(signer), options={"verify_signature": False})["iss"] == doc["issuer"]


def test_key_is_shared_by_processes_using_the_same_home(tmp_path: Path) -> None:
    a, b = TokenSigner(tmp_path), TokenSigner(tmp_path)
    assert a.kid == b.kid
    assert b.verify(_sign(a)).tenant_id == "ten_a"


def test_expired_forged_foreign_and_misaddressed_tokens_refused(tmp_path: Path) -> None:
    expired = TokenSigner(tmp_path / "a", ttl_s=-(LEEWAY_S + 5))
    with pytest.raises(InvalidInvocationToken, match="expired"):
        expired.verify(_sign(expired))
    other = TokenSigner(tmp_path / "b")
    with pytest.raises(InvalidInvocationToken):
        TokenSigner(tmp_path / "a").verify(_sign(other))  # another key
    with pytest.raises(InvalidInvocationToken):
        expired.verify(jwt.encode({"tenant": "x"}, "s" * 32, algorithm="HS256"))
    unsigned = jwt.encode({"tenant": "x"}, None, algorithm="none")
    with pytest.raises(InvalidInvocationToken):
        expired.verify(unsigned)
    same_key_other_issuer = TokenSigner(tmp_path / "a", issuer="https://elsewhere.test")
    with pytest.raises(InvalidInvocationToken, match=r"(?i)issuer"):
        TokenSigner(tmp_path / "a").verify(_sign(same_key_other_issuer))
    other_audience = TokenSigner(tmp_path / "a", audience="someone-else")
    with pytest.raises(InvalidInvocationToken, match=r"(?i)audience"):
        TokenSigner(tmp_path / "a").verify(_sign(other_audience))


def test_a_token_missing_a_platform_claim_is_refused(tmp_path: Path) -> None:
    signer = TokenSigner(tmp_path)
    payload = jwt.decode(_sign(signer), options={"verify_signature": False})
    del payload["tenant"]
    key = tmp_path / "signing-key.pem"
    token = jwt.encode(payload, key.read_bytes(), algorithm="RS256", headers={"kid": signer.kid})
    with pytest.raises(InvalidInvocationToken, match="tenant"):
        signer.verify(token)


def test_unknown_scope_is_never_signed(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="admin"):
        _sign(TokenSigner(tmp_path), scopes=("model", "admin"))


def test_tokens_of_an_ended_invocation_are_refused(tmp_path: Path) -> None:
    signer = TokenSigner(tmp_path)
    ended = {"inv_done"}
    verifier = signer.verifier(ended=ended.__contains__)
    assert verifier.verify(_sign(signer, "inv_live")).invocation_id == "inv_live"
    with pytest.raises(InvocationEnded) as caught:
        verifier.verify(_sign(signer, "inv_done"))
    assert caught.value.code == "invocation_ended"
    assert caught.value.status_code == 401
    # The signer's own check (job callbacks) is about the token alone.
    assert signer.verify(_sign(signer, "inv_done")).invocation_id == "inv_done"


def test_a_verifier_needs_exactly_one_key_source() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        TokenVerifier(issuer=ISSUER)
    with pytest.raises(ValueError, match="exactly one"):
        TokenVerifier(issuer=ISSUER, keys={}, jwks_url="https://x/jwks")
    with pytest.raises(ValueError, match="openid-configuration"):
        TokenVerifier.from_discovery("https://api.agentry.test/jwks.json")


def test_oversized_tokens_are_refused_before_parsing(tmp_path: Path) -> None:
    signer = TokenSigner(tmp_path, issuer=ISSUER, ttl_s=60)
    token = _sign(signer)
    with pytest.raises(InvalidInvocationToken, match="at most"):
        signer.verify(token + "A" * (MAX_TOKEN_CHARS - len(token) + 1))
    # A real token with the longest tool list an agent may declare still fits.
    long = _sign(signer, scopes=("tools",), tools=[f"target___tool_{i:03d}" for i in range(200)])
    assert len(long) <= MAX_TOKEN_CHARS
    assert signer.verify(long).scopes == {"tools"}

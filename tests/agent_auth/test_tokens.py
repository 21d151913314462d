from __future__ import annotations

from pathlib import Path

import jwt
import pytest

from agentry.agent_auth.tokens import InvalidInvocationToken, TokenSigner


def _sign(signer: TokenSigner) -> str:
    return signer.sign(
        tenant_id="ten_a",
        tier="premium",
        agent="longrun",
        version=3,
        invocation_id="job_1",
        session_id="ten_a-abc",
    )


def test_sign_verify_roundtrip_and_jwks(tmp_path: Path) -> None:
    signer = TokenSigner(tmp_path, ttl_s=60)
    claims = signer.verify(_sign(signer))
    assert (claims.tenant_id, claims.agent, claims.version) == ("ten_a", "longrun", 3)
    assert claims.invocation_id == "job_1"
    assert "jobs" in claims.scopes
    # A verifier with only the JWKS accepts the token.
    jwk = signer.jwks()["keys"][0]
    assert jwk["kid"] == signer.kid
    assert "d" not in jwk  # public part only
    key = jwt.PyJWK(jwk).key
    data = jwt.decode(_sign(signer), key, algorithms=["RS256"], audience="agentry-agent")
    assert data["tenant"] == "ten_a"


def test_key_is_shared_by_processes_using_the_same_home(tmp_path: Path) -> None:
    a, b = TokenSigner(tmp_path), TokenSigner(tmp_path)
    assert a.kid == b.kid
    assert b.verify(_sign(a)).tenant_id == "ten_a"


def test_expired_forged_and_foreign_tokens_refused(tmp_path: Path) -> None:
    signer = TokenSigner(tmp_path / "a", ttl_s=-1)
    with pytest.raises(InvalidInvocationToken):
        signer.verify(_sign(signer))
    other = TokenSigner(tmp_path / "b")
    with pytest.raises(InvalidInvocationToken):
        TokenSigner(tmp_path / "a").verify(_sign(other))
    with pytest.raises(InvalidInvocationToken):
        signer.verify(jwt.encode({"tenant": "x"}, "s" * 32, algorithm="HS256"))

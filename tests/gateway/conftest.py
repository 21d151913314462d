from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from agentry.agent_auth.tokens import TokenVerifier
from agentry.gateway.chain import InterceptorChain
from agentry.gateway.factory import GatewayConfig, build_chain
from agentry.gateway.interceptors import AuditRecord
from agentry.gateway.policy import TierPolicy
from agentry.gateway.target import CatalogTarget
from agentry.gateway.tools import builtin_catalog

ISSUER, AUDIENCE, KID = "http://agentry.test", "agentry-gateway", "k1"


@pytest.fixture(scope="session")
def signing_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


TokenFactory = Callable[..., str]


@pytest.fixture(scope="session")
def make_token(signing_key: rsa.RSAPrivateKey) -> TokenFactory:
    def make(tier: str = "basic", *, tenant: str = "ten_a", ttl: int = 300, **extra: Any) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "iat": now,
            "exp": now + ttl,
            "jti": uuid.uuid4().hex,
            "tenant": tenant,
            "tier": tier,
            "agent": "concierge",
            "version": 1,
            "invocation_id": "inv_1",
            "session_id": "s1",
            "scope": "model tools",
            **extra,
        }
        return jwt.encode(claims, signing_key, algorithm="RS256", headers={"kid": KID})

    return make


@pytest.fixture
def verifier(signing_key: rsa.RSAPrivateKey) -> TokenVerifier:
    return TokenVerifier(issuer=ISSUER, audience=AUDIENCE, keys={KID: signing_key.public_key()})


@pytest.fixture
def policy() -> TierPolicy:
    return TierPolicy.load(builtin_catalog().default_grants())


@pytest.fixture
def target() -> CatalogTarget:
    return CatalogTarget(builtin_catalog())


@pytest.fixture
def audit() -> list[AuditRecord]:
    return []


@pytest.fixture
def chain(
    verifier: TokenVerifier, policy: TierPolicy, audit: list[AuditRecord]
) -> InterceptorChain:
    async def sink(record: AuditRecord) -> None:
        audit.append(record)

    config = GatewayConfig(tool_calls_per_minute={"basic": 3, "premium": 100})
    return build_chain(config, verifier, policy, builtin_catalog(), sink)

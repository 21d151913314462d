"""The dev provider's RSA signing keys, kept as PEM files under `<home>/dev-idp/keys/`.

The newest key signs; all keys are published in the JWKS, so adding a key (rotation) needs no
restart of the provider or of the API that validates its tokens.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from agentry.kit.ids import new_id


class SigningKeys:
    def __init__(self, directory: Path) -> None:
        self.dir = directory

    def ensure(self) -> None:
        if not list(self.dir.glob("*.pem")):
            self.rotate()

    def rotate(self) -> str:
        """Add a new key; it signs from now on. Returns its kid."""
        self.dir.mkdir(parents=True, exist_ok=True)
        kid = f"{int(time.time() * 1000):015d}-{new_id('k')[2:14]}"
        pem = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        tmp = self.dir / f".{kid}.tmp"
        tmp.write_bytes(pem)
        tmp.chmod(0o600)
        os.replace(tmp, self.dir / f"{kid}.pem")
        return kid

    def _load(self) -> list[tuple[str, rsa.RSAPrivateKey]]:
        out = []
        for path in sorted(self.dir.glob("*.pem")):
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
            assert isinstance(key, rsa.RSAPrivateKey)
            out.append((path.stem, key))
        return out

    def current(self) -> tuple[str, rsa.RSAPrivateKey]:
        self.ensure()
        return self._load()[-1]  # kids sort by creation time

    def jwks(self) -> dict[str, Any]:
        self.ensure()
        keys = []
        for kid, key in self._load():
            jwk: dict[str, Any] = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
            jwk.update(kid=kid, use="sig", alg="RS256")
            keys.append(jwk)
        return {"keys": keys}

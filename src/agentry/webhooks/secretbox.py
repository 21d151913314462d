"""Webhook signing secrets: `whsec_` + base64 key (Standard Webhooks), stored Fernet-encrypted.

The secret must be recoverable to sign, so it is encrypted (not hashed) with a key from
settings (`AGENTRY_WEBHOOK_SECRET_KEY`, comma-separated newest first during a rotation) or,
locally, a per-home key file (one key a line, newest first). The newest key seals; every key
opens (MultiFernet), so a rotation is: a new key in front, re-encrypt what is stored, retire
the old keys (RUNBOOK-010). Every process re-reads the file when it changes.
"""

from __future__ import annotations

import base64
import contextlib
import os

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from agentry.config import Settings
from agentry.kit.keyfile import KeyLines


def new_secret() -> str:
    return "whsec_" + base64.b64encode(os.urandom(24)).decode()


def _key_file(settings: Settings) -> KeyLines:
    path = settings.home / "webhook-secret.key"
    if not path.exists():
        settings.home.mkdir(parents=True, exist_ok=True)
        tmp = settings.home / f".webhook-secret.{os.getpid()}.tmp"
        tmp.write_bytes(Fernet.generate_key())
        tmp.chmod(0o600)
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
        tmp.unlink()
    return KeyLines(path)


class SecretBox:
    def __init__(self, settings: Settings) -> None:
        configured = settings.webhook_secret_key.get_secret_value()
        self._configured = [k.strip() for k in configured.split(",") if k.strip()]
        if not self._configured and settings.profile != "local":
            raise RuntimeError("AGENTRY_WEBHOOK_SECRET_KEY is required outside the local profile")
        self._file = None if self._configured else _key_file(settings)
        self._keys: list[str] = []
        self._fernet: MultiFernet | None = None
        self._box()  # a bad key fails at start, not at the first delivery

    @property
    def rotatable(self) -> bool:
        """False when the key is configuration (AWS: rotate it in Secrets Manager)."""
        return self._file is not None

    def _ring(self) -> list[str]:
        return self._configured or (self._file.lines() if self._file else [])

    def _box(self) -> MultiFernet:
        keys = self._ring()
        if self._fernet is None or keys != self._keys:
            self._fernet = MultiFernet([Fernet(k.encode()) for k in keys])
            self._keys = keys
        return self._fernet

    @property
    def key_count(self) -> int:
        return len(self._ring())

    def seal(self, secret: str) -> str:
        return self._box().encrypt(secret.encode()).decode()

    def open(self, sealed: str) -> str:
        return self._box().decrypt(sealed.encode()).decode()

    def reseal(self, sealed: str) -> str:
        """The same secret under the newest key."""
        return self._box().rotate(sealed.encode()).decode()

    def newest_opens(self, sealed: str) -> bool:
        try:
            Fernet(self._ring()[0].encode()).decrypt(sealed.encode())
        except InvalidToken:
            return False
        return True

    def add_key(self) -> None:
        """A new key in front (local key file only)."""
        assert self._file is not None
        self._file.write([Fernet.generate_key().decode(), *self._ring()])

    def drop_old_keys(self) -> int:
        assert self._file is not None
        ring = self._ring()
        self._file.write(ring[:1])
        return len(ring) - 1

"""The server-side pepper mixed into API key hashes (light import: the CLI uses it).

Rotation (RUNBOOK-010) keeps a ring, newest first, in `<home>/api-key-peppers`: the newest
hashes new keys and every key it sees; an older one still verifies a key hashed with it during
the overlap (and the key is re-hashed under the newest on that use) until it is retired.
The original `<home>/pepper` is never rewritten: without AGENTRY_AUDIT_KEY the audit chain key
is derived from it. Where the pepper is configuration (AWS: Secrets Manager), the overlap is the
setting itself: `AGENTRY_API_KEY_PEPPER=<new>,<old>`, newest first, as the webhook box key.
"""

from __future__ import annotations

import secrets

from agentry.config import Settings
from agentry.kit.keyfile import KeyLines


def configured_peppers(settings: Settings) -> list[bytes]:
    """The configured peppers, newest first; [] when none is configured."""
    raw = settings.api_key_pepper.get_secret_value()
    return [p.strip().encode() for p in raw.split(",") if p.strip()]


def api_key_pepper(settings: Settings) -> bytes:
    """The original pepper (the oldest configured, or locally a generated one in the state
    dir): the audit chain key derives from it when AGENTRY_AUDIT_KEY is not set, so it must
    not change when a rotation puts a new pepper in front."""
    configured = configured_peppers(settings)
    if configured:
        return configured[-1]
    path = settings.home / "pepper"
    if not path.exists():
        settings.home.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip().encode()


class PepperRing:
    """The peppers API keys are hashed with, newest first."""

    def __init__(self, settings: Settings) -> None:
        self._configured = configured_peppers(settings)
        self._original = api_key_pepper(settings)
        # Read on every API key check: another process's rotation is seen within a second.
        self._ring = KeyLines(settings.home / "api-key-peppers", recheck_s=1.0)

    @property
    def rotatable(self) -> bool:
        """False when the pepper is configuration (AWS: rotate it in Secrets Manager)."""
        return not self._configured

    def all(self) -> list[bytes]:
        if self._configured:
            return list(self._configured)
        return [p.encode() for p in self._ring.lines()] or [self._original]

    @property
    def current(self) -> bytes:
        return self.all()[0]

    def rotate(self) -> int:
        """A new pepper in front; returns how many peppers now verify."""
        ring = [p.decode() for p in self.all()]
        self._ring.write([secrets.token_hex(32), *ring])
        return len(ring) + 1

    def retire(self) -> int:
        """Keep the newest only; returns how many were dropped."""
        ring = [p.decode() for p in self.all()]
        self._ring.write(ring[:1])
        return len(ring) - 1

"""Key and secret rotation (RUNBOOK-010): rotate, overlap, retire.

- Invocation-token signing key: a new key signs; the old one stays in the JWKS and verifies
  until it is retired (wait at least the token lifetime, AGENTRY_INVOCATION_TOKEN_TTL_S).
- Webhook secret box key: a new key seals; every stored sealed value is re-encrypted under it
  in one transaction; old keys are dropped only when nothing needs them any more.
- API key pepper: a new pepper hashes; a key hashed with an older one still authenticates
  during the overlap and is re-hashed on that use; after retiring, a key not used during
  the overlap is refused (its tenant rotates it).
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from agentry.agent_auth.tokens import TokenSigner, retire_signing_keys, rotate_signing_key
from agentry.api_keys.pepper import PepperRing
from agentry.kit.errors import Conflict
from agentry.ops.repository import SEALED_COLUMNS, SealedRepository
from agentry.ops.schemas import KeyStatus, Resealed
from agentry.webhooks.secretbox import SecretBox


class SecretConfigured(Conflict):
    code = "secret_configured"
    title = "The secret is configuration: rotate it where it is kept"


class ResealIncomplete(Conflict):
    code = "reseal_incomplete"
    title = "Stored secrets still need an old key"


def status(signer: TokenSigner, box: SecretBox, peppers: PepperRing) -> KeyStatus:
    kids = list(signer.public_keys())
    return KeyStatus(
        signing_kid=kids[0],
        signing_retired_kids=kids[1:],
        webhook_box_keys=box.key_count,
        webhook_box_rotatable=box.rotatable,
        api_key_peppers=len(peppers.all()),
        api_key_pepper_rotatable=peppers.rotatable,
    )


def rotate_signing(key_dir: Path) -> tuple[str, str]:
    return rotate_signing_key(key_dir)


def retire_signing(key_dir: Path) -> list[str]:
    return retire_signing_keys(key_dir)


async def reseal(session: AsyncSession, box: SecretBox, *, new_key: bool) -> Resealed:
    """Optionally a new newest key; then every sealed value re-encrypted under the newest."""
    if new_key:
        if not box.rotatable:
            raise SecretConfigured(
                "AGENTRY_WEBHOOK_SECRET_KEY is set: put 'new,old' there, redeploy, then run "
                "this again to re-encrypt (RUNBOOK-010)."
            )
        box.add_key()
    repo = SealedRepository(session)
    counts: dict[str, int] = {}
    for label, pk, column in SEALED_COLUMNS:
        rows = await repo.values(pk, column)
        for row_id, sealed in rows:
            await repo.replace(pk, column, row_id, box.reseal(sealed))
        counts[label] = len(rows)
    return Resealed(resealed=counts, webhook_box_keys=box.key_count)


async def retire_box_keys(session: AsyncSession, box: SecretBox) -> int:
    if not box.rotatable:
        raise SecretConfigured("AGENTRY_WEBHOOK_SECRET_KEY is set: remove the old key there.")
    repo = SealedRepository(session)
    for label, pk, column in SEALED_COLUMNS:
        stale = [i for i, sealed in await repo.values(pk, column) if not box.newest_opens(sealed)]
        if stale:
            raise ResealIncomplete(
                f"{len(stale)} {label} value(s) are sealed with an old key: "
                "run `make ops-webhook-key-rotate` again first."
            )
    return box.drop_old_keys()


def rotate_pepper(peppers: PepperRing) -> int:
    if not peppers.rotatable:
        raise SecretConfigured("AGENTRY_API_KEY_PEPPER is set: rotate it in Secrets Manager.")
    return peppers.rotate()


def retire_peppers(peppers: PepperRing) -> int:
    if not peppers.rotatable:
        raise SecretConfigured("AGENTRY_API_KEY_PEPPER is set: rotate it in Secrets Manager.")
    return peppers.retire()

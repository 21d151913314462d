"""Seeded dev users. Their `tid`s are mapped to the seeded tenants by `agentry dev seed`."""

from __future__ import annotations

from dataclasses import dataclass, field

from agentry.config import DEV_SPA_CLIENT_ID

ACME_TID = "a0000000-0000-4000-8000-00000000ac3e"
GLOBEX_TID = "b0000000-0000-4000-8000-0000000000b1"
PLATFORM_TID = "f0000000-0000-4000-8000-0000000000f0"
# A directory no tenant maps to: its users sign in fine and the API says `tenant_not_onboarded`.
INITECH_TID = "c0000000-0000-4000-8000-0000000000c1"
# Tenant slug → its dev directory id.
DEV_DIRECTORIES = {"acme": ACME_TID, "globex": GLOBEX_TID, "platform": PLATFORM_TID}
# Public SPA client registered with the dev provider (auth code + PKCE, no secret).
__all__ = ["DEV_SPA_CLIENT_ID", "DEV_USERS", "USERS_BY_NAME", "DevUser"]


@dataclass(frozen=True)
class DevUser:
    username: str
    name: str
    tid: str
    oid: str
    roles: list[str] = field(default_factory=list)
    scp: str = "Agentry.Access"


DEV_USERS = (
    DevUser(
        "ada@acme",
        "Ada (acme admin)",
        ACME_TID,
        "10000000-0000-4000-8000-000000000001",
        ["Agentry.Admin"],
    ),
    DevUser("max@acme", "Max (acme member)", ACME_TID, "10000000-0000-4000-8000-000000000002"),
    DevUser(
        "gil@globex",
        "Gil (globex admin)",
        GLOBEX_TID,
        "20000000-0000-4000-8000-000000000001",
        ["Agentry.Admin"],
    ),
    DevUser(
        "oli@platform",
        "Oli (platform operator)",
        PLATFORM_TID,
        "f0000000-0000-4000-8000-000000000001",
        ["Agentry.Operator"],
    ),
    DevUser(
        "uma@initech",
        "Uma (initech, not onboarded)",
        INITECH_TID,
        "c0000000-0000-4000-8000-000000000001",
        ["Agentry.Admin"],
    ),
)
USERS_BY_NAME = {u.username: u for u in DEV_USERS}

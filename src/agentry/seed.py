"""Local development seed: two tenants with keys, and the echo agent live. Idempotent."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from agentry.api_keys import keys
from agentry.api_keys.repository import ApiKeyAuthRepository
from agentry.api_keys.service import issue_key
from agentry.config import Settings
from agentry.devidp.users import DEV_DIRECTORIES
from agentry.identity.principal import Role
from agentry.kit.db.engine import create_engine, create_sessionmaker, session_scope
from agentry.kit.db.migrate import upgrade_async
from agentry.kit.envfile import read_env_file
from agentry.models import Tenant
from agentry.placement.wiring import build_regional_control
from agentry.registry import packaging
from agentry.registry.manifest import load_manifest
from agentry.registry.repository import AgentAliasRepository
from agentry.registry.service import publish_version, set_alias
from agentry.runtime.factory import build_artifact_store
from agentry.tenants.repository import TenantRepository
from agentry.tenants.service import create_tenant, entra_ids, set_entra_ids

DEV_TENANTS = (
    ("acme", "Acme Corp", "premium", "AGENTRY_API_KEY"),
    ("globex", "Globex", "basic", "AGENTRY_API_KEY_GLOBEX"),
    ("platform", "Agentry platform", "premium", "AGENTRY_OPERATOR_KEY"),
)
KEY_ROLES = {"AGENTRY_OPERATOR_KEY": Role.operator}
# The platform's own tenant (slug `platform`) also holds the agent developer key.
DEVELOPER_KEY_ENV = "AGENTRY_DEVELOPER_KEY"
SAMPLE_AGENTS = ("echo", "longrun", "concierge")


@dataclass
class SeedResult:
    env: dict[str, str] = field(default_factory=dict)
    agents: dict[str, int] = field(default_factory=dict)


def write_env_file(path: Path, values: dict[str, str], venv_bin: Path | None) -> None:
    lines = [
        "# Written by `make dev` (agentry dev seed). Local development only.",
    ]
    lines += [f'export {k}="{v}"' for k, v in values.items()]
    if venv_bin is not None:
        lines.append(f'export PATH="{venv_bin}:$PATH"  # so `agentry` is on PATH after sourcing')
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text("\n".join(lines) + "\n")
    tmp.chmod(0o600)
    os.replace(tmp, path)


async def seed(settings: Settings, pepper: bytes, agents_dir: Path) -> SeedResult:
    url = settings.effective_database_url
    await upgrade_async(url)
    engine = create_engine(url)
    maker = create_sessionmaker(engine)
    previous = read_env_file(settings.home / "dev.env")
    result = SeedResult()
    result.env["AGENTRY_URL"] = settings.effective_public_url
    control = build_regional_control(settings)
    store = build_artifact_store(settings)
    try:
        async with session_scope(maker) as session:
            tenants = TenantRepository(session)
            for slug, display, tier, env_name in DEV_TENANTS:
                tenant = await tenants.get_by_slug(slug) or await create_tenant(
                    session, slug=slug, display_name=display, tier=tier
                )
                role = KEY_ROLES.get(env_name, Role.admin)
                result.env[env_name] = await _ensure_key(
                    session, tenant, previous.get(env_name), pepper, role=role
                )
                if settings.profile == "local" and not await entra_ids(session, tenant):
                    # The dev identity provider's users sign in from these directories.
                    await set_entra_ids(session, tenant, [DEV_DIRECTORIES[slug]])
                if slug == "platform":
                    result.env[DEVELOPER_KEY_ENV] = await _ensure_key(
                        session,
                        tenant,
                        previous.get(DEVELOPER_KEY_ENV),
                        pepper,
                        role=Role.developer,
                    )
            for name in SAMPLE_AGENTS:
                agent_dir = agents_dir / name
                manifest = load_manifest(agent_dir)
                published = await publish_version(
                    session,
                    control=control,
                    store=store,
                    manifest=manifest,
                    settings=settings,
                    archive=packaging.package_dir(agent_dir),
                    created_by="seed",
                )
                live = await AgentAliasRepository(session).get_by_name(published.agent.id, "live")
                if live is None or published.created:
                    await set_alias(
                        session,
                        control=control,
                        settings=settings,
                        agent=published.agent,
                        alias_name="live",
                        number=published.version.number,
                    )
                result.agents[name] = published.version.number
    finally:
        await engine.dispose()
    return result


async def _ensure_key(
    session: AsyncSession,
    tenant: Tenant,
    previous: str | None,
    pepper: bytes,
    *,
    role: Role = Role.admin,
) -> str:
    if previous and keys.well_formed(previous):
        found = await ApiKeyAuthRepository(session).lookup_by_hash(keys.hash_key(previous, pepper))
        key = found[0] if found is not None else None
        if (
            key is not None
            and key.tenant_id == tenant.id
            and key.revoked_at is None
            and key.role == role.value
        ):
            return previous
    issued = await issue_key(
        session, tenant, name=f"dev {role.value} key", role=role, pepper=pepper, created_by="seed"
    )
    return issued.secret

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
from agentry.identity.principal import Role
from agentry.kit.db.engine import create_engine, create_sessionmaker, session_scope
from agentry.kit.db.migrate import upgrade_async
from agentry.models import Tenant
from agentry.registry import packaging
from agentry.registry.manifest import load_manifest
from agentry.registry.repository import AgentAliasRepository
from agentry.registry.service import publish_version, set_alias
from agentry.runtime.factory import build_artifact_store, build_control
from agentry.tenants.repository import TenantRepository
from agentry.tenants.service import create_tenant

DEV_TENANTS = (
    ("acme", "Acme Corp", "premium", "AGENTRY_API_KEY"),
    ("globex", "Globex", "basic", "AGENTRY_API_KEY_GLOBEX"),
)
SAMPLE_AGENTS = ("echo", "longrun", "concierge")


@dataclass
class SeedResult:
    env: dict[str, str] = field(default_factory=dict)
    agents: dict[str, int] = field(default_factory=dict)


def read_env_file(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    if not path.exists():
        return values
    for line in path.read_text().splitlines():
        line = line.strip()
        if line.startswith("export "):
            line = line[7:]
        if "=" in line and not line.startswith("#"):
            k, _, v = line.partition("=")
            values[k.strip()] = v.strip().strip('"')
    return values


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
    control = build_control(settings)
    store = build_artifact_store(settings)
    try:
        async with session_scope(maker) as session:
            tenants = TenantRepository(session)
            for slug, display, tier, env_name in DEV_TENANTS:
                tenant = await tenants.get_by_slug(slug) or await create_tenant(
                    session, slug=slug, display_name=display, tier=tier
                )
                result.env[env_name] = await _ensure_key(
                    session, tenant, previous.get(env_name), pepper
                )
            for name in SAMPLE_AGENTS:
                agent_dir = agents_dir / name
                manifest = load_manifest(agent_dir)
                published = await publish_version(
                    session,
                    control=control,
                    store=store,
                    manifest=manifest,
                    archive=packaging.package_dir(agent_dir),
                    created_by="seed",
                )
                live = await AgentAliasRepository(session).get_by_name(published.agent.id, "live")
                if live is None or published.created:
                    await set_alias(
                        session,
                        control=control,
                        agent=published.agent,
                        alias_name="live",
                        number=published.version.number,
                    )
                result.agents[name] = published.version.number
    finally:
        await engine.dispose()
    return result


async def _ensure_key(
    session: AsyncSession, tenant: Tenant, previous: str | None, pepper: bytes
) -> str:
    if previous and keys.well_formed(previous):
        found = await ApiKeyAuthRepository(session).lookup_by_hash(keys.hash_key(previous, pepper))
        if found is not None and found[0].tenant_id == tenant.id and found[0].revoked_at is None:
            return previous
    issued = await issue_key(
        session, tenant, name="dev admin key", role=Role.admin, pepper=pepper, created_by="seed"
    )
    return issued.secret

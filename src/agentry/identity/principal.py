"""Who is calling: the authenticated subject every service receives."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    member = "member"
    admin = "admin"
    developer = "developer"
    operator = "operator"


class Scope(StrEnum):
    invoke = "invoke"
    jobs = "jobs"
    keys_admin = "keys:admin"
    webhooks_admin = "webhooks:admin"
    usage_read = "usage:read"
    billing_admin = "billing:admin"
    registry_write = "registry:write"
    platform_admin = "platform:admin"


ROLE_SCOPES: dict[Role, frozenset[Scope]] = {
    Role.member: frozenset({Scope.invoke, Scope.jobs, Scope.usage_read}),
    Role.admin: frozenset(
        {
            Scope.invoke,
            Scope.jobs,
            Scope.usage_read,
            Scope.keys_admin,
            Scope.webhooks_admin,
            Scope.billing_admin,
        }
    ),
    Role.developer: frozenset({Scope.invoke, Scope.jobs, Scope.registry_write}),
    Role.operator: frozenset(Scope),
}


@dataclass(frozen=True, slots=True)
class Principal:
    tenant_id: str
    tenant_slug: str
    tier: str
    role: Role
    scopes: frozenset[Scope]
    key_id: str | None = None
    # Who, for the audit log: `key:<id>` or `entra:<tid>/<oid>`. Never an email or UPN.
    subject: str = ""

    @property
    def actor(self) -> str:
        return self.subject or (f"key:{self.key_id}" if self.key_id else "unknown")

    @property
    def is_operator(self) -> bool:
        return self.role is Role.operator

    def has(self, scope: Scope) -> bool:
        return scope in self.scopes

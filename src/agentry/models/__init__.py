"""ORM tables, one file per table."""

from agentry.kit.db.base import Base
from agentry.models.agent import Agent
from agentry.models.agent_alias import AgentAlias
from agentry.models.agent_version import AgentVersion
from agentry.models.api_key import ApiKey
from agentry.models.audit_event import AuditEvent
from agentry.models.idempotency_record import IdempotencyRecord
from agentry.models.invocation import Invocation
from agentry.models.stream_event import StreamEvent
from agentry.models.tenant import Tenant
from agentry.models.tenant_entra_id import TenantEntraId

TENANT_OWNED: tuple[type[Base], ...] = (
    ApiKey,
    IdempotencyRecord,
    Invocation,
    StreamEvent,
    TenantEntraId,
)

__all__ = [
    "TENANT_OWNED",
    "Agent",
    "AgentAlias",
    "AgentVersion",
    "ApiKey",
    "AuditEvent",
    "Base",
    "IdempotencyRecord",
    "Invocation",
    "StreamEvent",
    "Tenant",
    "TenantEntraId",
]

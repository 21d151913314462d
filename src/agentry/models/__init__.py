"""ORM tables, one file per table."""

from agentry.kit.db.base import Base
from agentry.models.agent import Agent
from agentry.models.agent_alias import AgentAlias
from agentry.models.agent_version import AgentVersion
from agentry.models.api_key import ApiKey
from agentry.models.audit_checkpoint import AuditCheckpoint
from agentry.models.audit_event import AuditEvent
from agentry.models.billing_adjustment import BillingAdjustment
from agentry.models.ended_invocation import EndedInvocation
from agentry.models.idempotency_record import IdempotencyRecord
from agentry.models.invocation import Invocation
from agentry.models.job import Job
from agentry.models.job_event import JobEvent
from agentry.models.price import Price
from agentry.models.runtime_placement import RuntimePlacement
from agentry.models.stream_event import StreamEvent
from agentry.models.tenant import Tenant
from agentry.models.tenant_budget import TenantBudget
from agentry.models.tenant_entra_id import TenantEntraId
from agentry.models.tenant_member import TenantMember
from agentry.models.tool_grant import ToolGrant
from agentry.models.tool_target import ToolTarget
from agentry.models.usage_event import UsageEvent
from agentry.models.webhook_delivery import WebhookDelivery
from agentry.models.webhook_endpoint import WebhookEndpoint

TENANT_OWNED: tuple[type[Base], ...] = (
    ApiKey,
    BillingAdjustment,
    IdempotencyRecord,
    Invocation,
    Job,
    JobEvent,
    StreamEvent,
    TenantBudget,
    TenantEntraId,
    TenantMember,
    UsageEvent,
    WebhookDelivery,
    WebhookEndpoint,
)

__all__ = [
    "TENANT_OWNED",
    "Agent",
    "AgentAlias",
    "AgentVersion",
    "ApiKey",
    "AuditCheckpoint",
    "AuditEvent",
    "Base",
    "BillingAdjustment",
    "EndedInvocation",
    "IdempotencyRecord",
    "Invocation",
    "Job",
    "JobEvent",
    "Price",
    "RuntimePlacement",
    "StreamEvent",
    "Tenant",
    "TenantBudget",
    "TenantEntraId",
    "TenantMember",
    "ToolGrant",
    "ToolTarget",
    "UsageEvent",
    "WebhookDelivery",
    "WebhookEndpoint",
]

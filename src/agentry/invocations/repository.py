from __future__ import annotations

from agentry.kit.repository import TenantScopedRepository
from agentry.models import Invocation


class InvocationRepository(TenantScopedRepository[Invocation]):
    model = Invocation

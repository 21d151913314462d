from agentry.kit.repository.base import (
    RepositoryBase,
    TenantScopedRepository,
    insert_unless_exists,
)

__all__ = ["RepositoryBase", "TenantScopedRepository", "insert_unless_exists"]

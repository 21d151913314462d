from agentry.kit.repository.base import RepositoryBase, TenantScopedRepository

__all__ = ["RepositoryBase", "TenantScopedRepository"]

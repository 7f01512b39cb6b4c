"""django-tenants' backend, minus the per-request `SET search_path`.

django-tenants forgets the connection's search path whenever `set_tenant()` is called, so
even with TENANT_LIMIT_SET_CALLS every request pays a `SET search_path` (and a ContentType
cache flush). Here `set_tenant()` keeps what the connection already has when the schema is
the same, so the statement runs only when a connection really moves between schemas.
Rollbacks and reconnects still reset it (handled by the parent class).
"""

from django_tenants.postgresql_backend.base import DatabaseWrapper as TenantDatabaseWrapper


class DatabaseWrapper(TenantDatabaseWrapper):
    def set_tenant(self, tenant, include_public=True):  # type: ignore[no-untyped-def]
        if (
            self.search_path_set_schemas is not None
            and self.schema_name == tenant.schema_name
            and self.include_public_schema == include_public
        ):
            self.tenant = tenant
            return
        super().set_tenant(tenant, include_public)

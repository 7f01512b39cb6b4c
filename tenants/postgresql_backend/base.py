"""django-tenants' backend, minus the per-request `SET search_path`.

django-tenants forgets the connection's search path whenever `set_tenant()` is called, so
even with TENANT_LIMIT_SET_CALLS every request pays a `SET search_path` (and a ContentType
cache flush). Here `set_tenant()` keeps what the connection already has when the schema is
the same, so the statement runs only when a connection really moves between schemas (or
gets a session whose path is unknown).
Rollbacks and reconnects still reset it (handled by the parent class).

With Django's connection pool (the way to run under ASGI, where persistent connections are
per short-lived thread), each request borrows a physical connection and gives it back, and
the parent class forgets the search path on every give-back although the session keeps it.
So the search path last set is also remembered on the physical connection itself and trusted
again when that connection is borrowed next.
"""

from django_tenants.postgresql_backend.base import DatabaseWrapper as TenantDatabaseWrapper

# Attribute on the driver's connection object: the search path its session has now.
_SESSION_SEARCH_PATH = "_tenants_search_path"


class DatabaseWrapper(TenantDatabaseWrapper):
    def set_tenant(self, tenant, include_public=True):
        # Same schema: nothing to change. If the path is not known to be set (a new or
        # just-borrowed connection), the next cursor sets it; the ContentType cache stays.
        if self.schema_name == tenant.schema_name and self.include_public_schema == include_public:
            self.tenant = tenant
            return
        super().set_tenant(tenant, include_public)
        # Moving back to the path the session already has (a schema_context() that ran no
        # query, say) needs no SET either.
        self._trust_session_search_path()

    def connect(self):
        super().connect()
        self._trust_session_search_path()

    def _trust_session_search_path(self) -> None:
        remembered = self.connection and getattr(self.connection, _SESSION_SEARCH_PATH, None)
        if remembered and self.schema_name and remembered == self._get_cursor_search_paths():
            self.search_path_set_schemas = remembered

    def _handle_search_path(self, cursor=None):
        super()._handle_search_path(cursor)
        if self.connection is None:
            return
        # Only a path set outside any transaction surely outlives this use of the connection:
        # a pool rolls back a connection given back mid-transaction, undoing a SET made there.
        # Trusting a stale path would serve one tenant's request from another's schema.
        durable = not self.in_atomic_block and self.get_autocommit()
        setattr(self.connection, _SESSION_SEARCH_PATH, self.search_path_set_schemas if durable else None)

    def _forget_session_search_path(self) -> None:
        # A SET inside a transaction that is rolled back is undone with it.
        if self.connection is not None:
            setattr(self.connection, _SESSION_SEARCH_PATH, None)

    def rollback(self):
        self._forget_session_search_path()
        super().rollback()

    def savepoint_rollback(self, sid):
        self._forget_session_search_path()
        super().savepoint_rollback(sid)

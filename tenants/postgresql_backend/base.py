"""django-tenants' backend, minus the per-request `SET search_path`.

django-tenants forgets the connection's search path whenever `set_tenant()` is called, so
even with TENANT_LIMIT_SET_CALLS every request pays a `SET search_path` (and a ContentType
cache flush). Here `set_tenant()` keeps what the connection already has when the schema is
the same, so the statement runs only when a connection really moves between schemas (or
gets a session whose path is unknown).
Rollbacks and reconnects still reset it (handled by the parent class).

Behind PgBouncer in transaction pooling mode (DATABASE_POOLING=transaction) a session-level
`SET search_path` is unsafe: it stays on whichever server connection ran it, while this
client's next transaction may run on another server connection, one whose session another
tenant's request set (django-tenants #1112). In that mode nothing is cached and no SET runs
on its own: every statement is sent as `SET search_path = ...; <statement>` in one simple
query, which PgBouncer runs on one server connection, inside the current transaction when
there is one. Server-side cursors are off in that mode (settings), and statement pooling,
where a transaction itself would be split up, is refused by a system check (tenants.checks).

With Django's connection pool (the way to run under ASGI, where persistent connections are
per short-lived thread), each request borrows a physical connection and gives it back, and
the parent class forgets the search path on every give-back although the session keeps it.
So the search path last set is also remembered on the physical connection itself and trusted
again when that connection is borrowed next.
"""

from typing import Any

from django.conf import settings
from django.db.backends.postgresql.base import Cursor
from django_tenants.postgresql_backend.base import DatabaseWrapper as TenantDatabaseWrapper
from django_tenants.utils import quote_schema_name
from psycopg import sql

# Attribute on the driver's connection object: the search path its session has now.
_SESSION_SEARCH_PATH = "_tenants_search_path"
# Attribute on the driver's connection object: the `SET search_path = ...; ` every statement
# starts with (transaction pooling).
_STATEMENT_SEARCH_PATH = "_tenants_statement_search_path"


def transaction_pooling() -> bool:
    return getattr(settings, "DATABASE_POOLING", "session") == "transaction"


# Django defines its psycopg 3 cursors conditionally, where the type checker cannot see them.
_DjangoCursor: Any = Cursor


class SearchPathPerStatementCursor(_DjangoCursor):
    """Django's client-side-binding cursor, sending the search path with every statement."""

    def execute(self, query, params=None, **kwargs):
        prefix = getattr(self.connection, _STATEMENT_SEARCH_PATH, None)
        if not prefix:
            return super().execute(query, params, **kwargs)
        if isinstance(query, bytes):
            query = prefix.encode() + query
        elif isinstance(query, str):
            query = prefix + query
        else:
            query = sql.Composed([sql.SQL(prefix), query])
        super().execute(query, params, **kwargs)
        self.nextset()  # past the SET's result, to the statement's
        return self

    def executemany(self, query, params_seq, **kwargs):
        if not getattr(self.connection, _STATEMENT_SEARCH_PATH, None):
            return super().executemany(query, params_seq, **kwargs)
        # psycopg pipelines executemany(), and a pipeline takes one statement per query.
        total = 0
        for params in params_seq:
            self.execute(query, params)
            total += max(self.rowcount, 0)
        self._rowcount = total
        return None


class DatabaseWrapper(TenantDatabaseWrapper):
    def get_connection_params(self):
        params = super().get_connection_params()
        if transaction_pooling():
            params["cursor_factory"] = SearchPathPerStatementCursor
        return params

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
        if transaction_pooling():
            return
        remembered = self.connection and getattr(self.connection, _SESSION_SEARCH_PATH, None)
        if remembered and self.schema_name and remembered == self._get_cursor_search_paths():
            self.search_path_set_schemas = remembered

    def _handle_search_path(self, cursor=None):
        if transaction_pooling():
            if self.connection is not None and not self._setting_search_path:
                paths = ", ".join(quote_schema_name(name) for name in self._get_cursor_search_paths())
                setattr(self.connection, _STATEMENT_SEARCH_PATH, f"SET search_path = {paths}; ")
            return
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

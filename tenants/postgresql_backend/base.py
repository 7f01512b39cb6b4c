"""django-tenants' backend, minus the per-request `SET search_path`.

django-tenants forgets the connection's search path whenever `set_tenant()` is called, so
even with TENANT_LIMIT_SET_CALLS every request pays a `SET search_path` (and a ContentType
cache flush). Here `set_tenant()` keeps what the connection already has when the schema is
the same, so the statement runs only when a connection really moves between schemas (or
gets a session whose path is unknown).
Rollbacks and reconnects still reset it (handled by the parent class).

When it does run, it is not a round trip of its own: it is sent in one simple query with the
next statement (`SET search_path = ...; <statement>`). With 1,000 tenants spread over 200
hosts nearly every request moves the connection, and that second round trip cost about 8%
of the CPU per request (bench/scale.py, docs/benchmarks.md). Statements that cannot carry it
(executemany's pipeline, COPY, single-row streams, a server-side cursor's DECLARE, VACUUM and
the others refused in a multi-statement query) get it sent alone just before them.

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
from django.core.exceptions import ImproperlyConfigured
from django.db.backends.postgresql.base import Cursor
from django_tenants.postgresql_backend.base import DatabaseWrapper as TenantDatabaseWrapper
from django_tenants.utils import get_limit_set_calls, quote_schema_name
from psycopg import errors, sql
from psycopg.pq import TransactionStatus

# Attribute on the driver's connection object: the search path its session has now (committed).
_SESSION_SEARCH_PATH = "_tenants_search_path"
# Attribute on the driver's connection object: (paths, "SET search_path = ...; ") to send in
# the same query as the next statement (session pooling). While it is there the session's
# path is unknown, so _SESSION_SEARCH_PATH is None.
_PENDING_SEARCH_PATH = "_tenants_pending_search_path"
# Attribute on the driver's connection object: the `SET search_path = ...; ` every statement
# starts with (transaction pooling).
_STATEMENT_SEARCH_PATH = "_tenants_statement_search_path"


def transaction_pooling() -> bool:
    return getattr(settings, "DATABASE_POOLING", "session") == "transaction"


def _set_search_path(paths: list[str]) -> str:
    return f"SET search_path = {', '.join(quote_schema_name(name) for name in paths)}; "


# (schema, include_public) -> (the search path, its `SET search_path = ...; `), made once per
# process: django-tenants validates and quotes every name each time it builds a path, four
# times per request moving between schemas (bench/scale.py). Bounded by the schemas a process
# visits; a process visiting more starts over.
_SEARCH_PATHS: dict[tuple[str, bool], tuple[list[str], str]] = {}
_SEARCH_PATHS_SIZE = 10_000


# Django defines its psycopg 3 cursors conditionally, where the type checker cannot see them.
_DjangoCursor: Any = Cursor


class SearchPathCursor(_DjangoCursor):
    """Django's client-side-binding cursor, sending `SET search_path` in one query with a statement.

    A simple query holding several statements runs as one implicit transaction outside a
    transaction block: when the statement fails, its SET is undone too. So a pending SET is
    dropped only once its query succeeded; after a failure the next statement carries it again.
    """

    def execute(self, query, params=None, **kwargs):
        connection = self.connection
        per_statement = getattr(connection, _STATEMENT_SEARCH_PATH, None)
        if per_statement:
            return self._execute_after(per_statement, query, params, kwargs)
        pending = getattr(connection, _PENDING_SEARCH_PATH, None)
        # In a failed transaction only a rollback runs, and a SET in front would make it fail.
        if pending is None or connection.info.transaction_status == TransactionStatus.INERROR:
            return super().execute(query, params, **kwargs)
        paths, prefix = pending
        try:
            self._execute_after(prefix, query, params, kwargs)
        except errors.ActiveSqlTransaction:
            # VACUUM, CREATE INDEX CONCURRENTLY and the like refuse a multi-statement query.
            if connection.info.transaction_status != TransactionStatus.IDLE:
                raise
            self.send_pending_search_path()
            return super().execute(query, params, **kwargs)
        self._search_path_sent(paths)
        return self

    def executemany(self, query, params_seq, **kwargs):
        if not getattr(self.connection, _STATEMENT_SEARCH_PATH, None):
            # psycopg pipelines executemany(), and a pipeline takes one statement per query.
            self.send_pending_search_path()
            return super().executemany(query, params_seq, **kwargs)
        total = 0
        for params in params_seq:
            self.execute(query, params)
            total += max(self.rowcount, 0)
        self._rowcount = total
        return None

    # COPY and single-row mode take one statement per query as well.
    def copy(self, *args, **kwargs):
        self.send_pending_search_path()
        return super().copy(*args, **kwargs)

    def stream(self, *args, **kwargs):
        self.send_pending_search_path()
        return super().stream(*args, **kwargs)

    def send_pending_search_path(self) -> None:
        """Send a pending `SET search_path` as a query of its own."""
        pending = getattr(self.connection, _PENDING_SEARCH_PATH, None)
        if pending is None or self.connection.info.transaction_status == TransactionStatus.INERROR:
            return
        super().execute(pending[1])
        self._search_path_sent(pending[0])

    def _execute_after(self, prefix, query, params, kwargs):
        if isinstance(query, bytes):
            query = prefix.encode() + query
        elif isinstance(query, str):
            query = prefix + query
        else:
            query = sql.Composed([sql.SQL(prefix), query])
        super().execute(query, params, **kwargs)
        self.nextset()  # past the SET's result, to the statement's
        return self

    def _search_path_sent(self, paths: list[str]) -> None:
        connection = self.connection
        setattr(connection, _PENDING_SEARCH_PATH, None)
        # Outside a transaction the query's implicit one has committed the SET; inside one, a
        # rollback may still undo it (and a pool rolls back a connection given back mid-way).
        durable = connection.info.transaction_status == TransactionStatus.IDLE
        setattr(connection, _SESSION_SEARCH_PATH, paths if durable else None)


class DatabaseWrapper(TenantDatabaseWrapper):
    def get_connection_params(self):
        params = super().get_connection_params()
        params["cursor_factory"] = SearchPathCursor
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

    def _get_cursor_search_paths(self):
        return list(self._search_path()[0])

    def _search_path(self) -> tuple[list[str], str]:
        key = (self.schema_name, self.include_public_schema)
        known = _SEARCH_PATHS.get(key)
        if known is None:
            if len(_SEARCH_PATHS) >= _SEARCH_PATHS_SIZE:
                _SEARCH_PATHS.clear()
            paths = super()._get_cursor_search_paths()  # validates each name
            known = _SEARCH_PATHS[key] = (paths, _set_search_path(paths))
        return known

    def _trust_session_search_path(self) -> None:
        if transaction_pooling():
            return
        remembered = self.connection and getattr(self.connection, _SESSION_SEARCH_PATH, None)
        if remembered and self.schema_name and remembered == self._search_path()[0]:
            self.search_path_set_schemas = remembered
            setattr(self.connection, _PENDING_SEARCH_PATH, None)

    def _handle_search_path(self, cursor=None):
        if transaction_pooling():
            if self.connection is not None and not self._setting_search_path:
                setattr(self.connection, _STATEMENT_SEARCH_PATH, self._search_path()[1])
            return
        if self._setting_search_path or self.connection is None:
            return
        connection = self.connection
        if not (get_limit_set_calls() and self.search_path_set_schemas):
            if not self.schema_name:
                raise ImproperlyConfigured("Database schema not set. Did you forget to call set_tenant()?")
            # Not sent now: the next statement carries it, saving a round trip per schema move.
            paths, prefix = self._search_path()
            paths = list(paths)
            setattr(connection, _PENDING_SEARCH_PATH, (paths, prefix))
            setattr(connection, _SESSION_SEARCH_PATH, None)
            self.search_path_set_schemas = paths
        if getattr(connection, _PENDING_SEARCH_PATH, None) is not None:
            if cursor is None:  # a server-side cursor: its DECLARE cannot carry the SET
                with connection.cursor() as raw:
                    raw.send_pending_search_path()
            return
        # Only a path set outside any transaction surely outlives this use of the connection:
        # a pool rolls back a connection given back mid-transaction, undoing a SET made there.
        # Trusting a stale path would serve one tenant's request from another's schema.
        durable = not self.in_atomic_block and self.get_autocommit()
        setattr(connection, _SESSION_SEARCH_PATH, self.search_path_set_schemas if durable else None)

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

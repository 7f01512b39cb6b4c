"""Fast tenant schemas: copy a migrated template schema instead of running migrations.

`migrate_schemas` keeps the template schema (settings.TENANT_TEMPLATE_SCHEMA) migrated like
any tenant. Provisioning reads the template's catalog once per template version, turns it into
one DDL script and runs that script in a single round trip, so its cost depends on the number
of tables, not on the number of migrations the apps have accumulated.

Why not django-tenants' clone mode: its PL/pgSQL `clone_schema()` walks every catalog at each
call (~160 ms here). Why not plain `CREATE TABLE ... (LIKE ... INCLUDING ALL)`: it renames
indexes and constraints and drops foreign keys, so later migrations that refer to those names
would fail on copied tenants. Here constraints and indexes keep their exact names.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django_tenants.utils import schema_exists


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# Advisory lock key: provisioning holds it shared for its transaction, `migrate_schemas`
# (tenants.migration) exclusively while it migrates the template and lists the schemas, so no
# sign-up copies a template that is about to change and then goes unnoticed by the run.
TEMPLATE_LOCK = 0x5C4E_4D02


def template_schema() -> str:
    return settings.TENANT_TEMPLATE_SCHEMA


@dataclass(frozen=True)
class TemplateScript:
    version: tuple[int, int]
    statements: tuple[str, ...]

    def sql(self) -> str:
        return ";\n".join(self.statements)


_cache: dict[str, TemplateScript] = {}
_cache_lock = threading.Lock()

_VERSION_SQL = "SELECT count(*), coalesce(max(id), 0) FROM {template}.django_migrations"


def _template_version(cursor, template: str) -> tuple[int, int]:
    cursor.execute(_VERSION_SQL.format(template=quote(template)))
    count, last_id = cursor.fetchone()
    return int(count), int(last_id)


# What the script below cannot rebuild. Django's schema editor never creates these; a RunSQL
# migration can, and a copy without them (or a serial column still drawing on the template's
# sequence) would differ from a migrated schema without anyone noticing.
_UNSUPPORTED_SQL = """
SELECT CASE c.relkind WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view'
                      WHEN 'f' THEN 'foreign table' WHEN 'c' THEN 'composite type'
                      WHEN 'p' THEN 'partitioned table'
                      ELSE 'sequence not owned by an identity column' END || ' ' || c.relname
  FROM pg_class c
 WHERE c.relnamespace = %(schema)s::regnamespace
   AND (c.relkind IN ('v', 'm', 'f', 'c', 'p') OR c.relispartition
        OR (c.relkind = 'S' AND NOT EXISTS (
                SELECT 1 FROM pg_depend d
                 WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'i')))
UNION ALL
SELECT 'function ' || p.proname FROM pg_proc p WHERE p.pronamespace = %(schema)s::regnamespace
UNION ALL
SELECT 'type ' || t.typname FROM pg_type t
 WHERE t.typnamespace = %(schema)s::regnamespace AND t.typtype IN ('e', 'd', 'r', 'm')
UNION ALL
SELECT 'rule ' || r.rulename FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class
 WHERE c.relnamespace = %(schema)s::regnamespace AND c.relkind <> 'v'
UNION ALL
SELECT 'row security policy ' || p.polname FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid
 WHERE c.relnamespace = %(schema)s::regnamespace
ORDER BY 1
"""


def _refuse_unsupported(cursor, template: str) -> None:
    cursor.execute(_UNSUPPORTED_SQL, {"schema": template})
    found = [name for (name,) in cursor.fetchall()]
    if found:
        raise RuntimeError(
            f"The tenant template schema “{template}” holds objects a template copy cannot "
            f"reproduce: {', '.join(found)}. Teach tenants.schema_template to copy them, or "
            "create tenant schemas by running migrations."
        )


def _build_script(cursor, template: str, version: tuple[int, int]) -> TemplateScript:
    """Read the template's catalog and describe it as DDL with unqualified names.

    The caller runs this with `search_path` set to the template alone, so PostgreSQL prints
    references to template objects unqualified and references to other schemas (public)
    qualified; the script then runs with `search_path` set to the new schema.
    """
    _refuse_unsupported(cursor, template)
    t = quote(template)
    cursor.execute(
        """
        SELECT c.relname,
               EXISTS (SELECT 1 FROM pg_attribute a
                        WHERE a.attrelid = c.oid AND a.attidentity <> '' AND NOT a.attisdropped),
               quote_literal(obj_description(c.oid, 'pg_class'))
          FROM pg_class c
         WHERE c.relnamespace = %s::regnamespace AND c.relkind IN ('r', 'p')
         ORDER BY c.relname
        """,
        [template],
    )
    tables = cursor.fetchall()
    statements: list[str] = []
    for table, _, comment in tables:
        statements.append(
            f"CREATE TABLE {quote(table)} (LIKE {t}.{quote(table)} INCLUDING DEFAULTS "
            "INCLUDING IDENTITY INCLUDING GENERATED INCLUDING STORAGE INCLUDING COMMENTS "
            "INCLUDING COMPRESSION INCLUDING CONSTRAINTS)"
        )
        # INCLUDING COMMENTS covers columns, constraints and indexes, not the table itself
        # (Meta.db_table_comment).
        if comment is not None:
            statements.append(f"COMMENT ON TABLE {quote(table)} IS {comment}")

    # Rows the migrations wrote (django_migrations itself, data migrations).
    for table, has_identity, _ in tables:
        cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {t}.{quote(table)})")
        if not cursor.fetchone()[0]:
            continue
        statements.append(f"INSERT INTO {quote(table)} SELECT * FROM {t}.{quote(table)}")
        if has_identity:
            cursor.execute(
                """
                SELECT a.attname FROM pg_attribute a
                 WHERE a.attrelid = %s::regclass AND a.attidentity <> '' AND NOT a.attisdropped
                """,
                [f"{t}.{quote(table)}"],
            )
            for (column,) in cursor.fetchall():
                statements.append(
                    f"SELECT setval(pg_get_serial_sequence('{quote(table)}', '{column}'), "
                    f"coalesce(max({quote(column)}), 1), max({quote(column)}) IS NOT NULL) "
                    f"FROM {quote(table)}"
                )

    # Primary keys, unique and exclusion constraints first, foreign keys after them (a
    # foreign key needs the unique index it points at); check constraints came with LIKE.
    cursor.execute(
        """
        SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid)
          FROM pg_constraint c
         WHERE c.connamespace = %s::regnamespace AND c.contype IN ('p', 'u', 'x', 'f')
         ORDER BY c.contype = 'f', c.conrelid::regclass::text, c.conname
        """,
        [template],
    )
    for table, name, definition in cursor.fetchall():
        statements.append(f"ALTER TABLE {table} ADD CONSTRAINT {quote(name)} {definition}")

    cursor.execute(
        """
        SELECT pg_get_indexdef(i.indexrelid)
          FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
         WHERE ic.relnamespace = %s::regnamespace
           AND NOT EXISTS (SELECT 1 FROM pg_constraint c
                            WHERE c.conindid = i.indexrelid AND c.contype IN ('p', 'u', 'x'))
         ORDER BY ic.relname
        """,
        [template],
    )
    # pg_get_indexdef() always qualifies the table, quoting the schema only when it must.
    qualified = re.compile(r" ON (ONLY )?(?:" + re.escape(t) + "|" + re.escape(template) + r")\.")
    for (definition,) in cursor.fetchall():
        statements.append(qualified.sub(lambda m: f" ON {m.group(1) or ''}", definition, count=1))

    # Triggers last, once the rows are in (the audit log's refuse changes, activity 0005).
    # With the template alone on search_path, pretty pg_get_triggerdef() names the table
    # unqualified (the plain form always qualifies it) and a function in public qualified;
    # a function in the template itself was refused above.
    cursor.execute(
        """
        SELECT pg_get_triggerdef(g.oid, true)
          FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid
         WHERE c.relnamespace = %s::regnamespace AND NOT g.tgisinternal
         ORDER BY c.relname, g.tgname
        """,
        [template],
    )
    statements.extend(definition for (definition,) in cursor.fetchall())
    return TemplateScript(version=version, statements=tuple(statements))


@contextmanager
def _search_path(cursor, schema: str) -> Iterator[None]:
    """Point this transaction at one schema, then give back the search path it had.

    Restoring explicitly (not just relying on SET LOCAL ending with the transaction) matters
    when the caller's transaction goes on: a sign-up keeps writing to public afterwards. It
    also keeps the connection's cached search path (tenants.postgresql_backend) true.
    """
    cursor.execute("SELECT current_setting('search_path')")
    previous = cursor.fetchone()[0]
    cursor.execute("SELECT set_config('search_path', %s, true)", [quote(schema)])
    yield
    # Not in a `finally`: after an error the transaction is aborted and the rollback to the
    # enclosing savepoint undoes the setting anyway.
    cursor.execute("SELECT set_config('search_path', %s, true)", [previous])


def template_script() -> TemplateScript:
    """The DDL that rebuilds the template, cached per process until the template migrates."""
    template = template_schema()
    with connection.cursor() as cursor:
        version = _template_version(cursor, template)
        cached = _cache.get(template)
        if cached and cached.version == version:
            return cached
        with transaction.atomic(), _search_path(cursor, template):
            script = _build_script(cursor, template, version)
    with _cache_lock:
        _cache[template] = script
    return script


def schema_copy_template(*, schema_name: str) -> None:
    """Create `schema_name` as a copy of the migrated template, inside the caller's transaction."""
    if not schema_exists(template_schema()):
        raise RuntimeError(
            f"The tenant template schema “{template_schema()}” is missing: run "
            "`python manage.py migrate_schemas` first."
        )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock_shared(%s)", [TEMPLATE_LOCK])
        script = template_script()
        cursor.execute(f"CREATE SCHEMA {quote(schema_name)}")
        with _search_path(cursor, schema_name):
            cursor.execute(script.sql())


def template_ensure() -> bool:
    """Create the (empty) template schema if missing; True if it was created."""
    if schema_exists(template_schema()):
        return False
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE SCHEMA {quote(template_schema())}")
    return True


def template_check() -> None:
    """Readiness: sign-ups need the migrated template schema (one query, on every probe)."""
    if not schema_exists(template_schema()):
        raise RuntimeError("tenant template schema missing: run `manage.py migrate_schemas`")

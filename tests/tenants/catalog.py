"""A schema's catalog as plain data, with the schema's own name replaced by a placeholder.

Two schemas with equal snapshots have the same tables, columns, constraints, indexes,
sequences, views, triggers and applied migrations, object for object and name for name.
"""

import re

from django.db import connection

from tenants.migration import tenant_app_labels

PLACEHOLDER = "<schema>"

SECTIONS: dict[str, str] = {
    # Every relation the schema owns (tables, indexes, sequences, views, ...), by kind.
    "relations": """
        SELECT c.relname, c.relkind, c.relpersistence, coalesce(c.reloptions::text, '')
          FROM pg_class c
         WHERE c.relnamespace = %(schema)s::regnamespace
    """,
    # Column order by rank, not attnum: a column dropped in the template leaves a gap there.
    "columns": """
        SELECT table_name, column_name,
               row_number() OVER (PARTITION BY table_name ORDER BY ordinal_position),
               data_type, udt_name, character_maximum_length, numeric_precision, numeric_scale,
               datetime_precision, is_nullable, coalesce(column_default, ''), is_identity,
               coalesce(identity_generation, ''), is_generated,
               coalesce(generation_expression, ''), coalesce(collation_name, '')
          FROM information_schema.columns
         WHERE table_schema = %(schema)s
    """,
    "constraints": """
        SELECT t.relname, c.conname, c.contype, pg_get_constraintdef(c.oid),
               c.condeferrable, c.condeferred, c.convalidated
          FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid
         WHERE c.connamespace = %(schema)s::regnamespace
    """,
    "indexes": """
        SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = %(schema)s
    """,
    "sequences": """
        SELECT sequencename, data_type::text, start_value, min_value, max_value, increment_by,
               cycle, cache_size
          FROM pg_sequences
         WHERE schemaname = %(schema)s
    """,
    # Which column owns each sequence (identity and serial columns), and how.
    "sequence_owners": """
        SELECT s.relname, t.relname, a.attname, d.deptype
          FROM pg_class s
          JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = s.oid
                          AND d.refclassid = 'pg_class'::regclass
          JOIN pg_class t ON t.oid = d.refobjid
          JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid
         WHERE s.relkind = 'S' AND s.relnamespace = %(schema)s::regnamespace
    """,
    "views": """
        SELECT viewname, definition FROM pg_views WHERE schemaname = %(schema)s
    """,
    "triggers": """
        SELECT t.relname, g.tgname, pg_get_triggerdef(g.oid)
          FROM pg_trigger g JOIN pg_class t ON t.oid = g.tgrelid
         WHERE NOT g.tgisinternal AND t.relnamespace = %(schema)s::regnamespace
    """,
    "comments": """
        SELECT c.relname, coalesce(a.attname, ''), d.description
          FROM pg_description d
          JOIN pg_class c ON c.oid = d.objoid AND d.classoid = 'pg_class'::regclass
          LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = d.objsubid
         WHERE c.relnamespace = %(schema)s::regnamespace
    """,
}


def normalize(value: object, schema: str) -> object:
    if not isinstance(value, str):
        return value
    pattern = r'(?:"' + re.escape(schema.replace('"', '""')) + r'"|\b' + re.escape(schema) + r"\b)"
    return re.sub(pattern, PLACEHOLDER, value)


def catalog_snapshot(schema: str, *, with_migrations: bool = True) -> dict[str, list[tuple]]:
    """Every section of `schema`'s catalog, sorted, with the schema name normalized."""
    snapshot: dict[str, list[tuple]] = {}
    with connection.cursor() as cursor:
        for section, sql in SECTIONS.items():
            cursor.execute(sql, {"schema": schema})
            snapshot[section] = sorted(
                tuple(normalize(value, schema) for value in row) for row in cursor.fetchall()
            )
        if with_migrations:
            # Only the tenant apps': schemas migrated before tenants.migration also record every
            # shared app's migrations, schemas it migrated never do.
            labels = tenant_app_labels()
            snapshot["django_migrations"] = [row for row in applied_migrations(schema) if row[0] in labels]
    return snapshot


def applied_migrations(schema: str) -> list[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT app, name FROM "{schema}".django_migrations ORDER BY app, name')
        return [tuple(row) for row in cursor.fetchall()]

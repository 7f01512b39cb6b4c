"""migrate_schemas at scale (tenants.migration), run as real processes on a database of their own.

Each test clones the test template database, fills it with tenants (devtools.tenants_bulk),
then runs `manage.py migrate_schemas` with tests/tenants/migration_settings.py, which adds a
tenant app with two new migrations (the second pauses 0.1 s per schema) and a shared app
with one: a release that ships a tenant migration and a shared upgrade at once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator

import psycopg
import pytest

from devtools.databases import database_clone, database_drop
from devtools.processes import REPO_DIR, ManagedProcess
from devtools.services import connection_kwargs
from tenants.schema_template import TEMPLATE_LOCK

TENANT_TARGET = [("migration_app", "0001_initial"), ("migration_app", "0002_widget_note")]


@pytest.fixture
def migration_db() -> Iterator[str]:
    server_url = os.environ["DATABASE_URL"]
    template = f"test_{connection_kwargs(server_url)['dbname']}_template"
    name = f"{template.removesuffix('_template')}_mig_{uuid.uuid4().hex[:6]}"
    url = database_clone(server_url=server_url, template=template, name=name)
    try:
        yield url
    finally:
        database_drop(server_url, name)


def environment(url: str, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "tests.tenants.migration_settings",
        "SAAS_ENVIRONMENT": "test",
        "PYTHONPATH": str(REPO_DIR),
        "LOG_LEVEL": "WARNING",
        **extra,
    }


def run(url: str, *argv: str, settings: str = "tests.tenants.migration_settings", **extra: str):
    return subprocess.run(
        [sys.executable, *argv],
        cwd=REPO_DIR,
        env={**environment(url, **extra), "DJANGO_SETTINGS_MODULE": settings},
        capture_output=True,
        text=True,
        timeout=300,
    )


def tenants_create(url: str, count: int, prefix: str = "mig") -> None:
    # With the regular test settings: the schemas are copies of a template without the new apps.
    created = run(
        url, "-m", "devtools.tenants_bulk", str(count), "--prefix", prefix, settings="config.settings_test"
    )
    assert created.returncode == 0, created.stderr


def migrate(url: str, **extra: str):
    return run(url, "manage.py", "migrate_schemas", "--noinput", **extra)


def query(url: str, sql: str, params: list | None = None) -> list[tuple]:
    with psycopg.connect(url, autocommit=True) as connection:
        cursor = connection.execute(sql, params or [])
        return cursor.fetchall() if cursor.description else []


def tenant_schemas(url: str) -> list[str]:
    return [name for (name,) in query(url, "SELECT schema_name FROM tenants_tenant ORDER BY schema_name")]


def recorded(url: str, schema: str, app: str) -> list[tuple[str, str]]:
    rows = query(
        url, f'SELECT app, name FROM "{schema}".django_migrations WHERE app = %s ORDER BY name', [app]
    )
    return [(row[0], row[1]) for row in rows]


def widget_columns(url: str, schema: str) -> set[str]:
    columns = query(
        url,
        "SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND table_name = %s",
        [schema, "migration_app_widget"],
    )
    return {name for (name,) in columns}


def current_count(url: str) -> int:
    return sum(recorded(url, schema, "migration_app") == TENANT_TARGET for schema in tenant_schemas(url))


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_a_run_killed_midway_resumes_and_applies_nothing_twice(migration_db, sig):
    url = migration_db
    tenants_create(url, 30)
    orchestrator = ManagedProcess(
        "migrate_schemas",
        [sys.executable, "manage.py", "migrate_schemas", "--noinput"],
        environment(url, MIGRATION_WORKERS="2", MIGRATION_BATCH_SIZE="4"),
    )
    orchestrator.start()
    try:
        orchestrator.wait_ready(lambda: current_count(url) >= 6, timeout=120, message="6 schemas migrated")
    finally:
        # SIGKILL: no cleanup at all, connections cut mid-transaction; SIGTERM: what a
        # platform sends a release it stops.
        os.killpg(orchestrator.pid, sig)
        assert orchestrator.process is not None
        orchestrator.process.wait(timeout=30)
    done_before = current_count(url)
    assert done_before < 30, "the run finished before it was killed: nothing was tested"

    second = migrate(url)
    assert second.returncode == 0, second.stdout + second.stderr
    assert f"30 tenant schemas: {done_before} current, {30 - done_before} behind" in second.stdout

    for schema in [*tenant_schemas(url), "tenant_template"]:
        assert recorded(url, schema, "migration_app") == TENANT_TARGET, schema
        rows = query(
            url,
            f'SELECT app, name, count(*) FROM "{schema}".django_migrations GROUP BY 1, 2 HAVING count(*) > 1',
        )
        assert rows == [], f"{schema} applied {rows} twice"
        assert widget_columns(url, schema) == {"id", "name", "note"}
        # The shared upgrade ran once, in public, and costs the tenant schemas nothing.
        assert recorded(url, schema, "shared_migration_app") == []
        assert query(url, "SELECT to_regclass(%s)", [f'"{schema}".shared_migration_app_gadget']) == [(None,)]
    assert recorded(url, "public", "shared_migration_app") == [("shared_migration_app", "0001_initial")]
    assert query(url, "SELECT state, count(*) FROM tenants_schemamigration GROUP BY 1") == [("done", 30)]

    # Nothing left: the third run only reads the catalog.
    third = migrate(url)
    assert third.returncode == 0, third.stderr
    assert "30 tenant schemas: 30 current, 0 behind" in third.stdout


def test_a_migration_commits_with_its_record_or_not_at_all(migration_db):
    """What a run killed between a migration's DDL and its record (SIGKILL, say) must not leave.

    0002 adds a field with an index, which Django's schema editor defers, and Django records
    such a migration only after the editor's transaction has committed. A trigger refusing
    0002's record in one schema stands for the run dying in between: the column must go too,
    or the next run fails on it ("column note ... already exists").
    """
    url = migration_db
    tenants_create(url, 3)
    refusing = tenant_schemas(url)[1]
    query(
        url,
        f'CREATE FUNCTION "{refusing}".refuse_record() RETURNS trigger LANGUAGE plpgsql '
        "AS $$ BEGIN RAISE EXCEPTION 'record refused'; END $$",
    )
    query(
        url,
        f'CREATE TRIGGER refuse BEFORE INSERT ON "{refusing}".django_migrations FOR EACH ROW '
        f"WHEN (NEW.name = '0002_widget_note') EXECUTE FUNCTION \"{refusing}\".refuse_record()",
    )

    first = migrate(url)
    assert first.returncode != 0
    assert f"{refusing}: " in first.stderr and "record refused" in first.stderr
    assert recorded(url, refusing, "migration_app") == [("migration_app", "0001_initial")]
    assert widget_columns(url, refusing) == {"id", "name"}
    for schema in tenant_schemas(url):
        if schema != refusing:
            assert recorded(url, schema, "migration_app") == TENANT_TARGET, schema

    query(url, f'DROP TRIGGER refuse ON "{refusing}".django_migrations')
    second = migrate(url)
    assert second.returncode == 0, second.stdout + second.stderr
    assert recorded(url, refusing, "migration_app") == TENANT_TARGET
    assert widget_columns(url, refusing) == {"id", "name", "note"}


def test_a_failing_schema_is_reported_and_the_others_finish(migration_db):
    url = migration_db
    tenants_create(url, 8)
    broken = tenant_schemas(url)[3]
    query(url, f'CREATE TABLE "{broken}".migration_app_widget (id int)')

    first = migrate(url, MIGRATION_WORKERS="2")
    assert first.returncode != 0
    assert f"{broken}: " in first.stderr and "already exists" in first.stderr
    assert "1 tenant schema(s) failed to migrate" in first.stderr
    for schema in tenant_schemas(url):
        assert recorded(url, schema, "migration_app") == ([] if schema == broken else TENANT_TARGET), schema
    [(state, attempts, error)] = query(
        url, "SELECT state, attempts, error FROM tenants_schemamigration WHERE schema_name = %s", [broken]
    )
    assert (state, attempts) == ("failed", 2)  # retried once within the run (MIGRATION_ATTEMPTS)
    assert "already exists" in error
    assert query(url, "SELECT count(*) FROM tenants_schemamigration WHERE state = 'done'") == [(7,)]

    query(url, f'DROP TABLE "{broken}".migration_app_widget')
    second = migrate(url)
    assert second.returncode == 0, second.stderr
    assert "8 tenant schemas: 7 current, 1 behind" in second.stdout
    assert recorded(url, broken, "migration_app") == TENANT_TARGET
    assert query(url, "SELECT state, count(*) FROM tenants_schemamigration GROUP BY 1") == [("done", 8)]

    # The template was migrated first: a tenant made now is born current.
    tenants_create(url, 1, prefix="late")
    assert recorded(url, "t_late0", "migration_app") == TENANT_TARGET


def test_a_sign_up_in_flight_is_waited_for_and_then_migrated(migration_db):
    """Provisioning holds the template lock shared: the run waits for it, then lists its schema."""
    url = migration_db
    tenants_create(url, 2)
    with psycopg.connect(url) as signup:  # a sign-up that copied the old template, not committed yet
        signup.execute("SELECT pg_advisory_xact_lock_shared(%s)", [TEMPLATE_LOCK])
        signup.execute(
            "INSERT INTO tenants_tenant (name, slug, schema_name, created_at, updated_at) "
            "VALUES ('Inflight', 'inflight', 't_inflight', now(), now())"
        )
        signup.execute('CREATE SCHEMA "t_inflight"')
        orchestrator = ManagedProcess(
            "migrate_schemas", [sys.executable, "manage.py", "migrate_schemas", "--noinput"], environment(url)
        )
        orchestrator.start()
        try:
            orchestrator.wait_ready(
                lambda: (
                    query(url, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
                    == [(1,)]
                ),
                timeout=60,
                message="the run waits for the sign-up",
            )
            assert recorded(url, "tenant_template", "migration_app") == []
            signup.commit()
            assert orchestrator.process is not None
            assert orchestrator.process.wait(timeout=120) == 0, orchestrator.log_tail()
        finally:
            orchestrator.stop()
    assert recorded(url, "tenant_template", "migration_app") == TENANT_TARGET
    assert recorded(url, "t_inflight", "migration_app") == TENANT_TARGET
    assert "3 tenant schemas: 0 current, 3 behind" in orchestrator.log()

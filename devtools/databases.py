"""Databases cloned from a migrated template: one per pytest-xdist worker, one per benchmark run.

Migrating is slow here: dj-stripe's migrations alone cost about a minute of CPU per schema
(public and the tenant template). Left alone, pytest-django migrates each worker's database
itself, inside the first test's timeout, all workers at once, and on a small machine a first
run timed out before any test ran. So a template database is migrated once, outside pytest
and benchmarks (a quick no-op when it is current), and every database that needs a schema is a
`CREATE DATABASE ... TEMPLATE` copy of it, which takes about a second. pytest-django then
reuses the workers' copies (`--reuse-db`) as they are.

Nothing here imports Django: the runner uses it before settings can be loaded. DDL takes no
parameters, so names are composed with psycopg's `sql.Identifier`, never by hand.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping
from typing import LiteralString
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

from devtools.processes import REPO_DIR
from devtools.services import ServiceError, connection_kwargs

# The benchmarks' template, migrated with the regular settings and kept between runs.
BENCH_TEMPLATE = "saas_bench_template"


def with_database(url: str, name: str) -> str:
    """`url` pointing at database `name` on the same server."""
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def admin_connection(server_url: str) -> psycopg.Connection:
    """An autocommit connection to the server's `postgres` database (CREATE/DROP DATABASE)."""
    return psycopg.connect(**connection_kwargs(server_url, dbname="postgres"), autocommit=True)


def _execute(server_url: str, statement: LiteralString, *names: str) -> None:
    with admin_connection(server_url) as connection:
        connection.execute(sql.SQL(statement).format(*map(sql.Identifier, names)))


def database_exists(server_url: str, name: str) -> bool:
    with admin_connection(server_url) as connection:
        return (
            connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None
        )


def database_drop(server_url: str, name: str) -> None:
    _execute(server_url, "DROP DATABASE IF EXISTS {} WITH (FORCE)", name)


def template_migrate(
    *, server_url: str, template: str, env: Mapping[str, str], settings_module: str, recreate: bool = False
) -> None:
    """Create the template database if missing (from scratch with `recreate`) and migrate it."""
    if recreate:
        database_drop(server_url, template)
    if not database_exists(server_url, template):
        print(f"dev: creating {template} (its first migration takes minutes)", flush=True)
        with contextlib.suppress(psycopg.errors.DuplicateDatabase):  # another runner was first
            _execute(server_url, "CREATE DATABASE {}", template)
    migrate = subprocess.run(  # noqa: S603 - our own command
        [sys.executable, str(REPO_DIR / "manage.py"), "migrate_schemas", "--noinput", "-v", "0"],
        cwd=REPO_DIR,
        env={
            **env,
            "DATABASE_URL": with_database(server_url, template),
            "DJANGO_SETTINGS_MODULE": settings_module,
        },
    )
    if migrate.returncode != 0:
        raise ServiceError(f"Migrating the template database {template} failed (output above).")


def database_clone(*, server_url: str, template: str, name: str) -> str:
    """A fresh copy `name` of `template` (any older `name` dropped first); its URL.

    CREATE DATABASE ... TEMPLATE fails while anyone else is connected to the template (a
    runner migrating it, a benchmark cloning it), so that is retried for a while.
    """
    database_drop(server_url, name)
    for attempt in range(20):
        try:
            _execute(server_url, "CREATE DATABASE {} TEMPLATE {}", name, template)
            break
        except psycopg.errors.ObjectInUse:
            if attempt == 19:
                raise ServiceError(f"The template database {template} stayed in use; try again.") from None
            time.sleep(0.5)
    return with_database(server_url, name)


@contextlib.contextmanager
def throwaway_database(
    server_url: str,
    *,
    env: Mapping[str, str],
    prefix: str = "saas_bench",
    template: str = BENCH_TEMPLATE,
    settings_module: str = "config.settings",
) -> Iterator[str]:
    """A migrated database of its own for one benchmark run (its URL), dropped afterwards.

    Development data is never touched, and migrations run only when the code has new ones.
    """
    print(f"dev: migrating {template} (slow only when there are new migrations)", flush=True)
    template_migrate(server_url=server_url, template=template, env=env, settings_module=settings_module)
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    url = database_clone(server_url=server_url, template=template, name=name)
    try:
        yield url
    finally:
        database_drop(server_url, name)


# --- make test ------------------------------------------------------------------------------


def worker_database_names(base: str, workers: int) -> list[str]:
    """pytest-django's names: `test_<NAME>`, with `_gw<N>` per xdist worker."""
    if workers == 0:
        return [f"test_{base}"]
    return [f"test_{base}_gw{index}" for index in range(workers)]


def testdb_prepare(*, database_url: str, workers: int, recreate: bool, env: dict[str, str]) -> None:
    """Migrate the template test database, then give every worker a fresh copy of it."""
    base = connection_kwargs(database_url)["dbname"]
    template = f"test_{base}_template"
    started_at = time.monotonic()
    template_migrate(
        server_url=database_url,
        template=template,
        env=env,
        settings_module="config.settings_test",
        recreate=recreate,
    )
    # A fresh copy each run: no rows left by an earlier run's committed (e2e) tests, and no
    # half-migrated database left by an interrupted one.
    names = worker_database_names(base, workers)
    for name in names:
        database_clone(server_url=database_url, template=template, name=name)
    elapsed = time.monotonic() - started_at
    print(f"dev: test databases {', '.join(names)} ready ({elapsed:.1f}s)", flush=True)


def worker_count(args: list[str]) -> tuple[list[str], int | None]:
    """pytest arguments with an explicit worker count, and that count (None: leave it to pytest).

    Without `-n` we choose one worker per available CPU.
    """
    for index, arg in enumerate(args):
        value = None
        if arg in ("-n", "--numprocesses") and index + 1 < len(args):
            value = args[index + 1]
        elif arg.startswith("--numprocesses="):
            value = arg.split("=", 1)[1]
        elif arg.startswith("-n") and len(arg) > 2:
            value = arg[2:]
        if value is not None:
            return args, int(value) if value.isdigit() else None
    if "no:xdist" in args:
        return args, 0
    workers = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return ["-n", str(workers), *args], workers

"""Ready test databases for `make test`: migrate once, clone per pytest-xdist worker.

Left alone, pytest-django migrates each worker's database itself, inside the first test's
timeout, all workers at once. dj-stripe's migrations alone cost about a minute of CPU per
schema (public and the tenant template), so on a small machine a first run timed out before
any test ran. Here one template database is migrated outside pytest (a quick no-op when it is
current) and each worker gets a fresh `CREATE DATABASE ... TEMPLATE` copy of it, which takes
about a second. pytest-django then reuses them (`--reuse-db`) as they are.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from urllib.parse import urlsplit, urlunsplit

from saas.dev.services import REPO_DIR, ServiceError, connection_kwargs


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def _existing(url: str, names: list[str]) -> set[str]:
    import psycopg

    with psycopg.connect(**connection_kwargs(url, dbname="postgres"), autocommit=True) as connection:
        rows = connection.execute("SELECT datname FROM pg_database WHERE datname = ANY(%s)", [names])
        return {row[0] for row in rows}


def _execute(url: str, statement: str) -> None:
    import psycopg

    with psycopg.connect(**connection_kwargs(url, dbname="postgres"), autocommit=True) as connection:
        connection.execute(statement)  # names come from _quote(); DDL takes no parameters


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def worker_database_names(base: str, workers: int) -> list[str]:
    """pytest-django's names: `test_<NAME>`, with `_gw<N>` per xdist worker."""
    if workers == 0:
        return [f"test_{base}"]
    return [f"test_{base}_gw{index}" for index in range(workers)]


def testdb_prepare(*, database_url: str, workers: int, recreate: bool, env: dict[str, str]) -> None:
    """Migrate the template test database, then give every worker a fresh copy of it."""
    base = connection_kwargs(database_url)["dbname"]
    template = f"test_{base}_template"
    if recreate:
        _execute(database_url, f"DROP DATABASE IF EXISTS {_quote(template)} WITH (FORCE)")
    if template not in _existing(database_url, [template]):
        _execute(database_url, f"CREATE DATABASE {_quote(template)}")
    started_at = time.monotonic()
    migrate = subprocess.run(  # noqa: S603 - our own command
        [sys.executable, str(REPO_DIR / "manage.py"), "migrate_schemas", "--noinput", "-v", "0"],
        cwd=REPO_DIR,
        env={
            **env,
            "DATABASE_URL": _with_database(database_url, template),
            "DJANGO_SETTINGS_MODULE": "config.settings_test",
        },
    )
    if migrate.returncode != 0:
        raise ServiceError(f"Migrating the test template database {template} failed (output above).")
    # A fresh copy each run: no rows left by an earlier run's committed (e2e) tests, and no
    # half-migrated database left by an interrupted one.
    names = worker_database_names(base, workers)
    for name in names:
        _execute(database_url, f"DROP DATABASE IF EXISTS {_quote(name)} WITH (FORCE)")
        _execute(database_url, f"CREATE DATABASE {_quote(name)} TEMPLATE {_quote(template)}")
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

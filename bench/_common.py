"""Helpers shared by the tenant benchmarks: a throwaway database, percentiles, ports.

Every run works in its own database, cloned (CREATE DATABASE ... TEMPLATE) from
`saas_bench_template`, a database migrated with `migrate_schemas` and kept between runs, and
drops it at the end: dev data is never touched and migrations run only when the code has new
ones.
"""

from __future__ import annotations

import contextlib
import os
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

REPO = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
TEMPLATE_DB = "saas_bench_template"


def server_url() -> str:
    return os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/saas")


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def admin_connection() -> psycopg.Connection:
    url = with_database(server_url(), "postgres").replace("postgres://", "postgresql://", 1)
    return psycopg.connect(url, autocommit=True)


def base_environment(**extra: str) -> dict[str, str]:
    """Environment for Django processes: production-like (no DEBUG query log), quiet logs."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "config.settings"),
        "DEBUG": "false",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(REPO),
    }
    env.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")
    env.update(extra)
    return env


@contextlib.contextmanager
def bench_database() -> Iterator[str]:
    """A fresh, migrated database for this run (its name); dropped afterwards."""
    with admin_connection() as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [TEMPLATE_DB]).fetchone():
            conn.execute(f'CREATE DATABASE "{TEMPLATE_DB}"')
    print(f"migrating {TEMPLATE_DB} (slow only when there are new migrations) ...", flush=True)
    subprocess.run(
        [PYTHON, "manage.py", "migrate_schemas", "--noinput", "-v", "0"],
        cwd=REPO,
        env=base_environment(DATABASE_URL=with_database(server_url(), TEMPLATE_DB)),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    name = f"saas_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    for attempt in range(10):  # another bench may hold a connection to the template briefly
        try:
            with admin_connection() as conn:
                conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE_DB}"')
            break
        except psycopg.errors.ObjectInUse:
            if attempt == 9:
                raise
            time.sleep(1)
    try:
        yield name
    finally:
        with admin_connection() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def summary(values: list[float]) -> dict[str, float]:
    return {
        "median": round(statistics.median(values), 2),
        "p95": round(percentile(values, 0.95), 2),
        "min": round(min(values), 2),
        "max": round(max(values), 2),
        "n": len(values),
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]

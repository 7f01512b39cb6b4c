"""What the benchmarks share: the project on sys.path, the environment of Django processes, figures.

Each run works in its own database, cloned from `saas_bench_template` (a database migrated
with `migrate_schemas` and kept between runs) and dropped at the end: dev data is never
touched and migrations run only when the code has new ones (devtools.databases). Ports, waits
and the Procfile's processes come from devtools.processes.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# The scripts run as files (`python bench/x.py`): make the project importable (devtools, config).
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
PYTHON = sys.executable


def server_url() -> str:
    """The PostgreSQL server to use (its database name is not used: each run has its own)."""
    return os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/saas")


def base_environment(**extra: str) -> dict[str, str]:
    """Environment for Django processes: production-like (no DEBUG query log), quiet logs."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "config.settings"),
        "DEBUG": "false",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(REPO),
    }
    env.setdefault("SAAS_ENVIRONMENT", "development")  # settings refuse to guess
    env.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")
    env.pop("PYTEST_XDIST_WORKER", None)  # a bench started from a test must not pick a worker's Redis db
    env.update(extra)
    return env


def wrk_binary() -> str:
    """The load generator's path; the run stops with how to install it when it is missing."""
    wrk = shutil.which("wrk")
    if wrk is None:
        sys.exit("wrk is missing: apt-get install -y wrk")
    return wrk


def bench_tenant_create(env: dict[str, str]) -> None:
    """The `bench` tenant (schema t_bench) the page benchmarks serve, in `env`'s database."""
    subprocess.run(
        [PYTHON, "manage.py", "create_tenant", "bench", "Bench", "owner@bench.example",
         "--password", "bench-password-123"],
        cwd=REPO, env={**env, "DJANGO_SETTINGS_MODULE": "config.settings"}, check=True,
        stdout=subprocess.DEVNULL,
    )  # fmt: skip


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


def quick() -> bool:
    """Quick mode: `--quick` on the command line or BENCH_QUICK=1 (what `make bench ARGS=--quick` sets)."""
    return os.environ.get("BENCH_QUICK") == "1" or "--quick" in sys.argv[1:]


def quick_defaults(parser: argparse.ArgumentParser, **values: object) -> None:
    """A `--quick` flag; in quick mode these defaults replace the full run's (explicit options still win)."""
    shown = ", ".join(f"--{name.replace('_', '-')} {value}" for name, value in values.items())
    help_text = f"shortened run for small machines ({shown}); also BENCH_QUICK=1"
    parser.add_argument("--quick", action="store_true", help=help_text)
    if quick():
        parser.set_defaults(**values)


def server_pids(server_pid: int) -> list[int]:
    """A server and its descendants (gunicorn's and uvicorn's workers are children)."""
    import psutil

    return [server_pid, *(child.pid for child in psutil.Process(server_pid).children(recursive=True))]


def backend_pids(where: str, params: list[str]) -> list[int]:
    """PIDs of the PostgreSQL backends matching `where` on pg_stat_activity."""
    from devtools.databases import admin_connection

    with admin_connection(server_url()) as connection:
        rows = connection.execute(f"SELECT pid FROM pg_stat_activity WHERE {where}", params).fetchall()
    return [pid for (pid,) in rows]


def cpu_seconds_of(pids: list[int]) -> float:
    """User + system CPU seconds so far of these processes (Linux /proc); ended ones count 0."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:  # a backend that ended between the two reads
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return total


def cpu_seconds_by_pid(pids: list[int]) -> dict[int, float]:
    """User + system CPU seconds so far of each of these processes (ended ones left out)."""
    return {pid: cpu_seconds_of([pid]) for pid in pids}


def server_and_backends_cpu(server_pid: int, backends_where: str, params: list[str]) -> dict[int, float]:
    """`cpu_seconds_by_pid` of a server's processes and of the PostgreSQL backends matching
    `backends_where` (see `backend_pids`)."""
    return cpu_seconds_by_pid([*server_pids(server_pid), *backend_pids(backends_where, params)])


def cpu_seconds_between(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds used between two `cpu_seconds_by_pid` readings by the processes of the second
    (a process that started in between counts whole; one that ended is not subtracted, so a
    connection replaced during a run never makes the figure negative)."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


# --- Paired rounds -----------------------------------------------------------------------
# This VM's speed swings by up to 2x between runs seconds apart, even with nothing else on it,
# and in bench/api.py's 31 one-second rounds the server loaded second in a round measured
# 25-30% better than the one loaded first (docs/benchmarks.md, API, fourth round). So the
# comparisons take many short rounds, alternate the order, and pair a round of each order.
# With three or more, reversing alone would leave the middle one in the middle every round
# (bench/scale.py's 1,000-tenant variant was: identical work measured 0.948 of the first there,
# docs/benchmarks.md), so the order also rotates: over 2 x n rounds each takes every place twice.


def turn_order(names: list[str], round_number: int) -> list[str]:
    """The order of round `round_number` (from 1): rounds 2k-1 and 2k run one rotation of
    `names`, forwards and then backwards, and the rotation moves on by one every two rounds."""
    shift = (round_number - 1) // 2 % len(names)
    rotated = [*names[shift:], *names[:shift]]
    return rotated if round_number % 2 else rotated[::-1]


def paired_median(ratios: list[float]) -> float:
    """The median over consecutive pairs of rounds (one of each order) of the geometric mean of
    their ratios; with one round, its ratio."""
    if len(ratios) < 2:
        return ratios[0]
    pairs = zip(ratios[0::2], ratios[1::2], strict=False)
    return statistics.median((first * second) ** 0.5 for first, second in pairs)

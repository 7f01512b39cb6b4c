"""Tenants at scale: provisioning and tenant-routed pages with 1,000 tenants present against one.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/saas REDIS_URL=redis://127.0.0.1:6379/1 \\
        .venv/bin/python bench/scale.py [--tenants 1000] [--hosts 200] [--count 20] \\
        [--seconds 3] [--rounds 12] [--connections 16]

Two throwaway databases (devtools.databases), measured in the same run, turn about:

- "1":    one tenant (devtools.tenants_bulk: a template copy, as sign-up makes it);
- "1000": `--tenants` tenants made the same way.

Pages: per database one Procfile `web` role (gunicorn sync, one worker, persistent
connections, our routing: bench/request_settings.py "ours") serves bench/urls.py's one-query
view. wrk (loopback, 1 thread, `--connections`) sends each request to the next host of a list,
round robin (a Lua script): the one tenant's host on "1", `--hosts` distinct hosts spread over
the `--tenants` on "1000" (so the host cache holds many entries and nearly every request moves
the connection to another schema: a `SET search_path`, sent in one query with the view's
SELECT, and django-tenants' ContentType cache flush); also "1000/1 host": the "1000" server
with one host, which separates the catalog's size from the spread over hosts. The variants
take turns in an order that alternates and rotates (every variant in every place alike),
`--rounds` times, each round on freshly started servers (a process keeps its own speed for
its life) and each variant after a 2-second warm-up (every host resolved once); figures are
medians over rounds, and the 1000-vs-1 ratios are compared within each round and paired over
a round of each order (bench/_common.py, paired rounds).
CPU per request is the worker's plus its PostgreSQL backends' (from /proc, the backends' share
printed too), steadier than req/s on a shared machine.
After the load it prints the server's max_files_per_process and the most files one bench
backend holds open: a backend at that limit reopens files on every moving request (README,
"PostgreSQL settings for many schemas"); the figures are only comparable at the same setting.
Before the load, each variant serves its host list in-process (WSGI, one at a time) while
SQL statements, host-cache misses, ContentType cache flushes and Python calls are counted.

Provisioning: tenants.services.tenant_provision (what sign-up runs), `--count` tenants per
database, in a process per database and round (one untimed tenant first), turn about.

Targets: provisioning median < 50 ms with 1,000 tenants present; pages with 1,000 tenants
(spread over `--hosts` hosts) / one tenant >= 0.95. The last line printed is JSON:
{"tenants": N, "provision_median_ms_1000": .., "provision_median_ms_1": .., "pages_rps_1000": ..,
 "pages_rps_1": .., "pages_ratio_1000_vs_1": .., ...} (the "_1000" keys are at `--tenants`).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    PYTHON,
    REPO,
    backend_pids,
    base_environment,
    cpu_seconds_between,
    cpu_seconds_by_pid,
    paired_median,
    quick_defaults,
    server_pids,
    server_url,
    summary,
    turn_order,
)
from tenant_request import found

from devtools.databases import throwaway_database
from devtools.processes import WebServer, free_port

PROVISION_TARGET_MS = 50
PAGES_TARGET_RATIO = 0.95
PATH = "/bench/one-query/"
PREFIX = "bulk"
ROUTING = "ours"

# wrk: each request to the next host of the list (the list is filled in per variant).
WRK_SCRIPT = """
local hosts = {%s}
local index = 0
request = function()
  index = index %% #hosts + 1
  return wrk.format("GET", nil, {Host = hosts[index]})
end
"""


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--tenants", type=int, default=1000, help="tenants of the large database (default 1000)"
    )
    parser.add_argument("--hosts", type=int, default=200, help="distinct hosts loaded there (default 200)")
    parser.add_argument("--count", type=int, default=20, help="tenants provisioned per database (default 20)")
    parser.add_argument("--seconds", type=int, default=3, help="measured seconds per run (default 3)")
    parser.add_argument("--rounds", type=int, default=12, help="runs per variant, interleaved (even)")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (default 16)")
    parser.add_argument("--provision-worker", nargs=2, metavar=("PREFIX", "COUNT"), help=argparse.SUPPRESS)
    quick_defaults(parser, tenants=100, hosts=50, count=6, seconds=2, rounds=2)
    args = parser.parse_args()
    if args.provision_worker:
        provision_worker(args.provision_worker[0], int(args.provision_worker[1]))
        return
    if args.hosts > args.tenants:
        parser.error("--hosts cannot exceed --tenants")
    started = time.monotonic()
    load_before = os.getloadavg()[0]
    many = f"{args.tenants}"
    step = args.tenants // args.hosts
    hosts = {
        "1": [host_of(0)],
        many: [host_of(index * step) for index in range(args.hosts)],
        f"{many}/1 host": [host_of(0)],
    }
    # variant -> the database it runs on
    database_of = {"1": "1", many: many, f"{many}/1 host": many}
    env = base_environment()
    with (
        tempfile.TemporaryDirectory(prefix="bench-scale-") as directory,
        throwaway_database(server_url(), env=env, prefix="saas_bench_scale1") as url_one,
        throwaway_database(server_url(), env=env, prefix="saas_bench_scalen") as url_many,
    ):
        urls = {"1": url_one, many: url_many}
        for name, url in urls.items():
            begun = time.perf_counter()
            tenants_create(url, int(name))
            print(f"database {name}: {name} tenants in {time.perf_counter() - begun:.1f} s", flush=True)
        scripts = {}
        for variant, names in hosts.items():
            scripts[variant] = Path(directory) / f"hosts-{len(names)}-{variant.replace('/', '-')}.lua"
            scripts[variant].write_text(WRK_SCRIPT % ", ".join(json.dumps(h) for h in names))
        hosts_files = {}
        for variant, names in hosts.items():
            hosts_files[variant] = Path(directory) / f"hosts-{variant.replace('/', '-').replace(' ', '')}.txt"
            hosts_files[variant].write_text("\n".join(names))

        print(
            f"\n{'variant':<14} {'hosts':>5} {'calls/req':>10} {'us/req':>7} {'misses/req':>11} "
            f"{'ct flush/req':>13}  SQL statements/request",
            flush=True,
        )
        work = {}
        for variant in hosts:
            work[variant] = count_work(urls[database_of[variant]], hosts_files[variant])
            w = work[variant]
            print(
                f"{variant:<14} {len(hosts[variant]):>5} {w['calls']:>10.0f} {w['us']:>7.0f} "
                f"{w['misses']:>11.3f} {w['ct_flushes']:>13.3f}  {w['sql']}",
                flush=True,
            )

        runs: dict[str, list[tuple[float, float, float, float]]] = {variant: [] for variant in hosts}
        print(flush=True)
        for round_number in range(1, args.rounds + 1):
            # Fresh servers (and so fresh PostgreSQL backends) every round: a process keeps
            # its speed for its life (where it runs, its memory layout, its hash seed), which
            # put the same one-host page 0.87-1.12 times the other server's across whole runs.
            servers = {name: web_server(name, url) for name, url in urls.items()}
            try:
                for variant in turn_order(list(hosts), round_number):
                    server = servers[database_of[variant]]
                    database = database_name(urls[database_of[variant]])
                    url = f"http://127.0.0.1:{server.port}{PATH}"
                    load(scripts[variant], url, seconds=2, connections=args.connections)  # warm-up
                    server_before, postgres_before = cpu_seconds(server.pid, database)
                    rps, median_ms, requests = load(
                        scripts[variant], url, seconds=args.seconds, connections=args.connections
                    )
                    server_after, postgres_after = cpu_seconds(server.pid, database)
                    postgres_ms = cpu_seconds_between(postgres_before, postgres_after) / requests * 1000
                    server_ms = cpu_seconds_between(server_before, server_after) / requests * 1000
                    cpu_ms = server_ms + postgres_ms
                    runs[variant].append((rps, median_ms, cpu_ms, postgres_ms))
                    print(
                        f"  round {round_number} {variant:<14} {rps:7.0f} req/s  median {median_ms:6.2f} ms  "
                        f"cpu {cpu_ms:5.2f} ms/request, postgres {postgres_ms:4.2f} of it  "
                        f"(load average {os.getloadavg()[0]:.1f})",
                        flush=True,
                    )
                if round_number == args.rounds:
                    # PostgreSQL's open-files budget, and what the backends hold after the load
                    # (README, "PostgreSQL settings for many schemas": past it every moving
                    # request reopens files).
                    files = {name: open_files(database_name(url)) for name, url in urls.items()}
                    files_limit = max_files_per_process()
            finally:
                for server in servers.values():
                    server.stop()

        provisioning: dict[str, list[float]] = {name: [] for name in urls}
        provision_rounds = 2 if args.count >= 4 else 1
        for round_number in range(provision_rounds):
            for name, url in urls.items():
                share = args.count // provision_rounds + (round_number < args.count % provision_rounds)
                timings = provision(url, f"prov{round_number}x", share)
                provisioning[name].extend(timings)
                print(
                    f"  provisioning round {round_number + 1} with {name} tenants: median "
                    f"{statistics.median(timings):6.1f} ms of {len(timings)}  "
                    f"(load average {os.getloadavg()[0]:.1f})",
                    flush=True,
                )

    figures = {
        variant: tuple(statistics.median(run[i] for run in results) for i in range(4))
        for variant, results in runs.items()
    }
    provision_figures = {name: summary(values) for name, values in provisioning.items()}
    # Compared within each round, paired over a round of each order (bench/_common.py).
    many_runs, one_runs = runs[f"{args.tenants}"], runs["1"]
    ratios = (
        paired_median([m[0] / o[0] for m, o in zip(many_runs, one_runs, strict=True)]),
        paired_median([o[2] / m[2] for m, o in zip(many_runs, one_runs, strict=True)]),
    )
    seconds = time.monotonic() - started
    report(args, hosts, figures, ratios, work, provision_figures, (files_limit, files), load_before, seconds)


def report(
    args: argparse.Namespace,
    hosts: dict[str, list[str]],
    figures: dict[str, tuple[float, ...]],
    ratios: tuple[float, float],
    work: dict[str, dict],
    provision_figures: dict[str, dict[str, float]],
    postgres_files: tuple[int, dict[str, int | None]],
    load_before: float,
    seconds: float,
) -> None:
    many = f"{args.tenants}"
    one_rps, _, one_cpu, _ = figures["1"]
    print(
        f"\n{'pages':<14} {'hosts':>5} {'req/s':>7} {'median ms':>10} {'vs 1':>6} "
        f"{'cpu ms/req':>11} {'vs 1':>6} {'postgres':>9}"
    )
    for variant, (rps, median_ms, cpu_ms, postgres_ms) in figures.items():
        print(
            f"{variant:<14} {len(hosts[variant]):>5} {rps:>7.0f} {median_ms:>10.2f} {rps / one_rps:>6.3f} "
            f"{cpu_ms:>11.3f} {one_cpu / cpu_ms:>6.3f} {postgres_ms:>9.3f}"
        )
    print(f"\n{'provisioning':<14} {'n':>5} {'median ms':>10} {'p95 ms':>8} {'min ms':>8} {'max ms':>8}")
    for name, summ in provision_figures.items():
        print(
            f"{name + ' tenants':<14} {summ['n']:>5} {summ['median']:>10.1f} {summ['p95']:>8.1f} "
            f"{summ['min']:>8.1f} {summ['max']:>8.1f}"
        )
    files_limit, files = postgres_files
    held = ", ".join(f"{name} tenants {'?' if count is None else count}" for name, count in files.items())
    print(f"\npostgres: max_files_per_process {files_limit}; files open in a backend after the load: {held}")
    ratio, cpu_ratio = ratios
    provision_ms = provision_figures[many]["median"]
    at = "" if args.tenants >= 1000 else f" (ran {args.tenants} tenants, not 1,000)"
    print(
        f"\ntargets{at}: provisioning < {PROVISION_TARGET_MS} ms median with {many} tenants: "
        f"{provision_ms:.1f} ({'met' if provision_ms < PROVISION_TARGET_MS else 'MISSED'}); "
        f"pages {many}/1 >= {PAGES_TARGET_RATIO}: "
        f"wall clock {ratio:.3f} ({'met' if ratio >= PAGES_TARGET_RATIO else 'MISSED'}), cpu {cpu_ratio:.3f} "
        f"({'met' if cpu_ratio >= PAGES_TARGET_RATIO else 'MISSED'}); {seconds:.0f} s, load average "
        f"{load_before:.2f} -> {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores"
    )
    print(
        json.dumps(
            {
                "tenants": args.tenants,
                "hosts": args.hosts,
                "provision_median_ms_1000": provision_figures[many]["median"],
                "provision_median_ms_1": provision_figures["1"]["median"],
                "provision_p95_ms_1000": provision_figures[many]["p95"],
                "provision_p95_ms_1": provision_figures["1"]["p95"],
                "pages_rps_1000": round(figures[many][0], 1),
                "pages_rps_1": round(one_rps, 1),
                "pages_ratio_1000_vs_1": round(ratio, 3),
                "pages_cpu_ms_1000": round(figures[many][2], 3),
                "pages_cpu_ms_1": round(one_cpu, 3),
                "pages_cpu_ratio_1000_vs_1": round(cpu_ratio, 3),
                "pages_postgres_cpu_ms_1000": round(figures[many][3], 3),
                "pages_postgres_cpu_ms_1": round(figures["1"][3], 3),
                "pages_rps_1000_one_host": round(figures[f"{many}/1 host"][0], 1),
                "sql_1000": work[many]["sql"],
                "sql_1": work["1"]["sql"],
                "calls_ratio_1000_vs_1": round(work["1"]["calls"] / work[many]["calls"], 3),
                "postgres_max_files_per_process": files_limit,
                "load_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
            }
        )
    )


def host_of(index: int) -> str:
    return f"{PREFIX}{index}.{os.environ.get('SAAS_BASE_DOMAIN', 'localhost')}"


def database_name(url: str) -> str:
    return url.rsplit("/", 1)[1]


def tenants_create(url: str, count: int) -> None:
    created = subprocess.run(
        [PYTHON, "-m", "devtools.tenants_bulk", str(count), "--prefix", PREFIX],
        cwd=REPO,
        env=base_environment(DATABASE_URL=url),
        capture_output=True,
        text=True,
        check=False,
    )
    if created.returncode != 0:
        sys.exit(f"creating tenants failed:\n{created.stderr[-3000:]}")


def provision(url: str, prefix: str, count: int) -> list[float]:
    """`count` timed tenant_provision calls in a fresh process on database `url` (ms each)."""
    done = subprocess.run(
        [PYTHON, str(Path(__file__).resolve()), "--provision-worker", prefix, str(count)],
        cwd=REPO,
        env=base_environment(DATABASE_URL=url),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        sys.exit(f"provisioning failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def provision_worker(prefix: str, count: int) -> None:
    """In this process: one untimed tenant (warm caches), then `count` timed; prints the ms as JSON."""
    import django

    django.setup()
    from django.db import connection
    from tenant_provision import check_schema

    from tenants.services import tenant_provision
    from tenants.validators import schema_name_for

    tenant_provision(name=f"{prefix}warm", slug=f"{prefix}warm")
    timings = []
    for index in range(count):
        slug = f"{prefix}{index}"
        started = time.perf_counter()
        tenant_provision(name=slug.title(), slug=slug)
        timings.append((time.perf_counter() - started) * 1000)
        check_schema(schema_name_for(slug))
    connection.close()
    print(json.dumps(timings))


COUNT_WORK = """
import collections, io, json, sys, threading, time
import django
from django.core.wsgi import get_wsgi_application
from django.db.backends.postgresql.base import Cursor

app = get_wsgi_application()
from django.contrib.contenttypes.models import ContentTypeManager
from tenants.resolution import TenantResolver

hosts = open(sys.argv[1]).read().split()
path = sys.argv[2]

def serve(n):
    for i in range(n):
        environ = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": "",
                   "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1",
                   "HTTP_HOST": hosts[i % len(hosts)], "REMOTE_ADDR": "127.0.0.1",
                   "wsgi.input": io.BytesIO(), "wsgi.errors": sys.stderr, "wsgi.url_scheme": "http",
                   "wsgi.version": (1, 0), "wsgi.multithread": False, "wsgi.multiprocess": True,
                   "wsgi.run_once": False}
        status = []
        body = b"".join(app(environ, lambda s, h, exc_info=None: status.append(s)))
        assert status[0].startswith("200"), (status, body[:500])

n = max(400, 2 * len(hosts))
serve(len(hosts) + 50)  # warm: imports, connection, every host resolved once
started = time.perf_counter()
serve(n)
us = (time.perf_counter() - started) / n * 1e6
statements = collections.Counter()
execute = Cursor.execute
def counting_execute(self, sql, *args, **kwargs):  # the driver's cursor: SET search_path too
    text = sql if isinstance(sql, str) else sql.decode() if isinstance(sql, bytes) else str(sql)
    if text.startswith("SET search_path"):  # alone, or in one query with the next statement
        rest = text.split("; ", 1)[1].split() if "; " in text else []
        key = "SET search_path" + (f"; {rest[0]}" if rest else "")
    elif "tenants_domain" in text:
        key = "host lookup"
    else:
        key = text.split()[0]
    statements[key] += 1
    return execute(self, sql, *args, **kwargs)
Cursor.execute = counting_execute
misses = [0]
load = TenantResolver._load
def counting_load(hostname):
    misses[0] += 1
    return load(hostname)
TenantResolver._load = staticmethod(counting_load)
flushes = [0]
clear = ContentTypeManager.clear_cache
def counting_clear(self):
    flushes[0] += 1
    return clear(self)
ContentTypeManager.clear_cache = counting_clear
calls = [0]
def profile(frame, event, arg):
    if event in ("call", "c_call"):
        calls[0] += 1
sys.setprofile(profile); threading.setprofile(profile)
serve(n)
sys.setprofile(None); threading.setprofile(None)
print(json.dumps({"calls": calls[0] / n, "us": us, "misses": misses[0] / n, "ct_flushes": flushes[0] / n,
                  "sql": {k: round(v / n, 3) for k, v in sorted(statements.items())}}))
"""


def count_work(url: str, hosts_file: Path) -> dict:
    """Per request, served in-process over the host list: SQL, host-cache misses, calls, time."""
    completed = subprocess.run(
        [PYTHON, "-c", COUNT_WORK, str(hosts_file), PATH],
        cwd=REPO,
        env=base_environment(
            DATABASE_URL=url, DJANGO_SETTINGS_MODULE="bench.request_settings", BENCH_ROUTING=ROUTING
        ),
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise SystemExit(f"counting failed:\n{completed.stderr[-3000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def cpu_seconds(server_pid: int, database: str) -> tuple[dict[int, float], dict[int, float]]:
    """User + system CPU time of the server's processes, and of its PostgreSQL backends, per pid
    (a backend can be replaced during a run: bench/_common.py `cpu_seconds_between`)."""
    return cpu_seconds_by_pid(server_pids(server_pid)), cpu_seconds_by_pid(bench_backends(database))


def bench_backends(database: str) -> list[int]:
    """The bench servers' PostgreSQL backends on `database` (bench/request_settings.py names them)."""
    return backend_pids("application_name = %s AND datname = %s", [f"bench-{ROUTING}", database])


def web_server(name: str, url: str) -> WebServer:
    """The Procfile's `web` role on database `url` with our routing, started."""
    server = WebServer(
        base_environment(
            DATABASE_URL=url,
            LOG_LEVEL="INFO",
            DJANGO_SETTINGS_MODULE="bench.request_settings",
            BENCH_ROUTING=ROUTING,
        ),
        port=free_port(),
        name=f"bench-scale-{name}",
    )
    server.start()
    return server


def max_files_per_process() -> int:
    from devtools.databases import admin_connection

    with admin_connection(server_url()) as connection:
        (limit,) = connection.execute("SHOW max_files_per_process").fetchall()[0]
    return int(limit)


def open_files(database: str) -> int | None:
    """The most files one of the bench servers' backends on `database` holds open (None when
    /proc does not show another user's descriptors)."""
    counts = []
    for pid in bench_backends(database):
        try:
            counts.append(len(os.listdir(f"/proc/{pid}/fd")))
        except (PermissionError, FileNotFoundError):
            return None
    return max(counts, default=0)


def load(script: Path, url: str, *, seconds: int, connections: int) -> tuple[float, float, int]:
    """Requests per second, median latency (ms) and requests of one wrk run; errors fail it."""
    output = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script), url],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    if "Non-2xx" in output or "Socket errors" in output:
        raise SystemExit(f"wrk saw errors:\n{output}")
    rps = float(found(r"Requests/sec:\s+([\d.]+)", output)[0])
    value, unit = found(r"\s50%\s+([\d.]+)(us|ms|s)\b", output)
    median_ms = float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    requests = int(found(r"(\d+) requests in", output)[0])
    return rps, median_ms, requests


if __name__ == "__main__":
    main()

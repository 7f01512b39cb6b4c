"""Cost of tenant routing and of the web server per request: a one-query view, several ways.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/saas REDIS_URL=redis://127.0.0.1:6379/1 \\
        .venv/bin/python bench/tenant_request.py [--seconds 8] [--rounds 5] [--connections 16]

In a throwaway database (devtools.databases) with one tenant, five servers run the same view
(bench/urls.py: `AuditEvent.objects.count()` in the tenant's schema), each a Procfile role
(devtools.processes) with one worker, logs at INFO to a file, DEBUG off. They differ in
routing (bench/request_settings.py) and server:

- tenant:          our TenantResolutionMiddleware + backend under the `web` role (gunicorn
                   sync workers, persistent connections): the project as deployed;
- plain:           no routing, search_path fixed to the tenant's schema, under gunicorn:
                   the peer "plain Django under gunicorn sync workers, same worker count";
- tenant-uvicorn:  the project under the `ws` role (uvicorn, ASGI, Django's psycopg pool:
                   persistent connections are per request thread under ASGI and pile up),
                   what the web role was before pages moved to gunicorn;
- tenant-stock-db: our middleware on django-tenants' backend, gunicorn (what our backend saves);
- django-tenants:  TenantMainMiddleware + django-tenants' backend, gunicorn (for reference).

wrk (loopback, 1 thread, `--connections` connections) loads each for `--seconds` after a
2-second warm-up, servers taking turns, `--rounds` times; each figure is the median over
rounds. Beside wall-clock req/s, the CPU time each request costs is measured: the uvicorn
process's plus its PostgreSQL backends' (found by application_name), from /proc. On a
machine shared with other work, wall-clock figures swing with the neighbours' load while
CPU per request does not, so "cpu req/s" (1 / CPU seconds per request: what one fully
used core would serve) is the steadier comparison.

Before the load runs, each variant also serves 200 requests in-process (its ASGI application
called directly, one at a time) while every Python call in every thread and every SQL
statement is counted: deterministic figures that show where a difference comes from.

Targets: tenant / plain >= 0.95 (routing) and deployed / gunicorn plain >= 0.9 (the same
figure since pages are served by gunicorn). The last line printed is JSON:
{"tenant_rps": .., "plain_rps": .., "ratio": tenant/plain, "cpu_ratio": .., ...,
 "gunicorn_plain_rps": .., "deployed_vs_gunicorn_plain": .., "uvicorn_rps": ..}.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    PYTHON,
    REPO,
    base_environment,
    bench_tenant_create,
    cpu_seconds_between,
    quick_defaults,
    server_and_backends_cpu,
    server_url,
    wrk_binary,
)

from devtools.databases import throwaway_database
from devtools.processes import WebServer, free_port

TARGET_RATIO = 0.95
# name -> (routing, Procfile role)
VARIANTS = {
    "tenant": ("ours", "web"),
    "plain": ("plain", "web"),
    "tenant-uvicorn": ("ours", "ws"),
    "tenant-stock-db": ("ours_stock_backend", "web"),
    "django-tenants": ("django_tenants", "web"),
}
PATH = "/bench/one-query/"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=8, help="measured seconds per run (default 8)")
    parser.add_argument("--rounds", type=int, default=5, help="runs per server, interleaved (default 5)")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (default 16)")
    quick_defaults(parser, seconds=2, rounds=1)
    args = parser.parse_args()
    wrk = wrk_binary()

    base_domain = os.environ.get("SAAS_BASE_DOMAIN", "localhost")
    host, schema = f"bench.{base_domain}", "t_bench"
    with throwaway_database(server_url(), env=base_environment()) as database_url:
        env = base_environment(DATABASE_URL=database_url, LOG_LEVEL="INFO")
        bench_tenant_create(env)
        servers: dict[str, WebServer] = {}
        try:
            for name, (routing, role) in VARIANTS.items():
                servers[name] = start_server(routing, role, env={**env, "BENCH_TENANT_SCHEMA": schema})
            print(f"{'routing':<15} {'calls/request':>14}  SQL statements/request", flush=True)
            work = {}
            for name, (routing, _role) in VARIANTS.items():
                work[name] = count_work(routing, {**env, "BENCH_TENANT_SCHEMA": schema}, host)
                print(f"{name:<15} {work[name]['calls']:>14.0f}  {work[name]['sql']}", flush=True)
            bodies = {name: view_body(server, host) for name, server in servers.items()}
            if len(set(bodies.values())) != 1:
                raise SystemExit(f"the servers disagree on the view's answer: {bodies}")
            print(f"all answer {PATH} on {host} with {bodies['tenant']!r}", flush=True)
            runs: dict[str, list[tuple[float, float, float]]] = {name: [] for name in servers}
            for round_number in range(1, args.rounds + 1):
                for name, server in servers.items():
                    url = f"http://127.0.0.1:{server.port}{PATH}"
                    load(wrk, url, host, seconds=2, connections=args.connections)  # warm-up
                    cpu_before = cpu_seconds(server.pid, VARIANTS[name][0])
                    rps, median_ms, requests = load(
                        wrk, url, host, seconds=args.seconds, connections=args.connections
                    )
                    cpu_after = cpu_seconds(server.pid, VARIANTS[name][0])
                    cpu_ms = cpu_seconds_between(cpu_before, cpu_after) / requests * 1000
                    runs[name].append((rps, median_ms, cpu_ms))
                    print(
                        f"  round {round_number} {name:<15} {rps:7.0f} req/s  median {median_ms:6.2f} ms  "
                        f"cpu {cpu_ms:5.2f} ms/request  (load average {os.getloadavg()[0]:.1f})",
                        flush=True,
                    )
        finally:
            for server in servers.values():
                server.stop()

    figures = {
        name: tuple(statistics.median(run[i] for run in results) for i in range(3))
        for name, results in runs.items()
    }
    plain_rps, _, plain_cpu = figures["plain"]
    print(f"\n{'routing':<15} {'req/s':>7} {'median ms':>10} {'vs plain':>9} {'cpu ms/req':>11} "
          f"{'cpu req/s':>10} {'vs plain':>9}")  # fmt: skip
    for name, (rps, median_ms, cpu_ms) in figures.items():
        print(
            f"{name:<15} {rps:>7.0f} {median_ms:>10.2f} {rps / plain_rps:>9.3f} {cpu_ms:>11.3f} "
            f"{1000 / cpu_ms:>10.0f} {plain_cpu / cpu_ms:>9.3f}"
        )
    ratio = figures["tenant"][0] / plain_rps
    cpu_ratio = plain_cpu / figures["tenant"][2]
    print(
        f"\ntarget tenant/plain >= {TARGET_RATIO}: wall clock {ratio:.3f} "
        f"({'met' if ratio >= TARGET_RATIO else 'MISSED'}), cpu {cpu_ratio:.3f} "
        f"({'met' if cpu_ratio >= TARGET_RATIO else 'MISSED'})"
    )
    print(
        json.dumps(
            {
                "tenant_rps": round(figures["tenant"][0], 1),
                "plain_rps": round(plain_rps, 1),
                "ratio": round(ratio, 3),
                "cpu_ratio": round(cpu_ratio, 3),
                "calls_ratio": round(work["plain"]["calls"] / work["tenant"]["calls"], 3),
                "tenant_sql": work["tenant"]["sql"],
                "tenant_cpu_ms": round(figures["tenant"][2], 3),
                "plain_cpu_ms": round(plain_cpu, 3),
                "tenant_stock_db_cpu_ms": round(figures["tenant-stock-db"][2], 3),
                "django_tenants_rps": round(figures["django-tenants"][0], 1),
                "django_tenants_cpu_ms": round(figures["django-tenants"][2], 3),
                "gunicorn_plain_rps": round(plain_rps, 1),
                "deployed_vs_gunicorn_plain": round(ratio, 3),
                "uvicorn_rps": round(figures["tenant-uvicorn"][0], 1),
                "uvicorn_vs_gunicorn_plain": round(figures["tenant-uvicorn"][0] / plain_rps, 3),
            }
        )
    )


COUNT_WORK = """
import asyncio, collections, json, sys, threading
import django
from django.core.asgi import get_asgi_application
from django.db.backends import utils

app = get_asgi_application()
host, path = sys.argv[1].encode(), sys.argv[2]

async def serve(n):
    for _ in range(n):
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
                 "method": "GET", "scheme": "http", "path": path, "raw_path": path.encode(),
                 "query_string": b"", "root_path": "", "headers": [(b"host", host)],
                 "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 80)}
        messages = [{"type": "http.request", "body": b"", "more_body": False}]
        async def receive():
            return messages.pop() if messages else await asyncio.sleep(3600)
        sent = []
        async def send(message):
            sent.append(message)
        await app(scope, receive, send)
        assert sent[0]["status"] == 200, sent

asyncio.run(serve(50))  # warm: imports, pool, resolver, caches
statements = collections.Counter()
execute = utils.CursorWrapper._execute
def counting_execute(self, sql, *args):
    statements["SET search_path" if sql.startswith("SET search_path") else sql.split()[0]] += 1
    return execute(self, sql, *args)
utils.CursorWrapper._execute = counting_execute
calls = [0]
def profile(frame, event, arg):
    if event in ("call", "c_call"):
        calls[0] += 1
n = 200
sys.setprofile(profile); threading.setprofile(profile)
asyncio.run(serve(n))
sys.setprofile(None); threading.setprofile(None)
print(json.dumps({"calls": calls[0] / n, "sql": {k: v / n for k, v in sorted(statements.items())}}))
"""


def count_work(routing: str, env: dict[str, str], host: str) -> dict:
    """Python calls (all threads) and SQL statements per request, served in-process."""
    completed = subprocess.run(
        [PYTHON, "-c", COUNT_WORK, host, PATH],
        cwd=REPO,
        env={**env, "DJANGO_SETTINGS_MODULE": "bench.request_settings", "BENCH_ROUTING": routing},
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise SystemExit(f"counting {routing} failed:\n{completed.stderr[-3000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def start_server(routing: str, role: str, env: dict[str, str]) -> WebServer:
    """A Procfile web role routing requests one way; returns once it answers /healthz."""
    # Under ASGI, persistent connections are per request thread: the ws role uses the pool.
    pool = {"DB_POOL_MAX_SIZE": "4"} if role == "ws" else {}
    server = WebServer(
        {**env, **pool, "DJANGO_SETTINGS_MODULE": "bench.request_settings", "BENCH_ROUTING": routing},
        port=free_port(),
        name=f"bench-{routing}-{role}",
        role=role,
    )
    server.start()
    return server


def view_body(server: WebServer, host: str) -> str:
    """The view's answer on the tenant host (a server that cannot answer it fails the bench)."""
    request = urllib.request.Request(f"http://127.0.0.1:{server.port}{PATH}", headers={"Host": host})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 (loopback)
            return response.read().decode()
    except OSError as error:
        raise SystemExit(f"{server.name} does not answer {PATH} on {host}:\n{server.log_tail()}") from error


def cpu_seconds(server_pid: int, routing: str) -> dict[int, float]:
    """User + system CPU time so far of the server's processes and of its PostgreSQL backends,
    by pid (bench/_common.py `cpu_seconds_between`)."""
    return server_and_backends_cpu(server_pid, "application_name = %s", [f"bench-{routing}"])


def load(wrk: str, url: str, host: str, *, seconds: int, connections: int) -> tuple[float, float, int]:
    """Requests per second, median latency (ms) and requests of one wrk run; errors fail it."""
    output = subprocess.run(
        [wrk, "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-H", f"Host: {host}", url],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    if "Non-2xx" in output or "Socket errors" in output:
        raise SystemExit(f"wrk saw errors:\n{output}")
    rps = float(found(r"Requests/sec:\s+([\d.]+)", output)[0])
    value, unit = found(r"\s50%\s+([\d.]+)(us|ms|s)\b", output)
    median_ms = float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    requests = int(found(r"(\d+) requests in", output)[0])
    return rps, median_ms, requests


def found(pattern: str, output: str) -> tuple[str, ...]:
    match = re.search(pattern, output)
    if match is None:
        raise SystemExit(f"unexpected wrk output (no {pattern!r}):\n{output}")
    return match.groups()


if __name__ == "__main__":
    main()

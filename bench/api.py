"""The API's cost: `GET /api/v1/projects/` (100 rows, a page of 50) with a key, beside plain DRF.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/saas REDIS_URL=redis://127.0.0.1:6379/1 \\
        .venv/bin/python bench/api.py [--seconds 2] [--rounds 20] [--connections 8]

In a throwaway database (devtools.databases) with one tenant holding 100 projects:
- api:   the Procfile's web role (gunicorn sync, devtools.processes.WebServer, one worker),
         the project's settings: tenant routing, the bearer key with its creator's role
         (looked up once, then remembered and re-checked in the rate-limit script: see
         api/verified_keys.py), scope check, the Redis rate-limit script, problem errors,
         cursor pagination with filters and ordering, RateLimit-* headers;
- plain: gunicorn (one sync worker) serving a ListAPIView over the same rows with DRF's own
         cursor pagination, no tenancy and no authentication (bench/plain_drf_settings.py).
wrk (loopback, 1 thread) loads each for `--seconds`, taking turns, `--rounds` times, the order
alternating (api first, then plain first); req/s is the median over rounds. CPU per request
is the server's process tree, the database's PostgreSQL backends and the Redis server (the
run's own Redis), user + system, over each load run divided by its requests. `ratio` and
`cpu_ratio` compare the two within each round, a pair of rounds (one of each order) gives the
geometric mean of its two ratios, and the verdict is the median over pairs: this VM's speed
swings by up to 2x between runs seconds apart even with nothing else running, and the second
server of a round measured better than the first, so many short paired rounds say more than
a few long ones.
p95 is over 300 sequential requests to the API (Python client).
Target: api / plain >= 0.9. The last line is JSON:
{"api_rps": .., "plain_drf_rps": .., "ratio": .., "p95_ms": .., "cpu_ratio": .., ...}.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import redis

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    PYTHON,
    REPO,
    base_environment,
    bench_tenant_create,
    cpu_seconds_between,
    paired_median,
    percentile,
    quick_defaults,
    server_and_backends_cpu,
    server_url,
    turn_order,
    wrk_binary,
)

from devtools.databases import throwaway_database
from devtools.processes import ManagedProcess, WebServer, free_port, url_answers

TARGET_RATIO = 0.9
PATH = "/api/v1/projects/"

SEED = """
from django_tenants.utils import schema_context
from accounts.models import User
from api.services import api_key_create
from projects.services import project_create
from tenants.models import Tenant
tenant = Tenant.objects.get(slug="bench")
owner = User.objects.get(email="owner@bench.example")
with schema_context(tenant.schema_name):
    for number in range(100):
        project_create(tenant=tenant, actor=owner, name=f"Project {number}", description="x" * 80)
_, secret = api_key_create(tenant=tenant, actor=owner, name="bench", scopes=["projects:read"])
print(secret)
"""


# Python calls and round trips (SQL statements, Redis commands) per request, served in-process
# through the WSGI handler: figures that do not move with the machine's load.
COUNT_WORK = """
import io, json, sys
import django
django.setup()
from django.core.handlers.wsgi import WSGIHandler
from django.db.backends import utils
from redis.connection import Connection
secret, host, path, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
app = WSGIHandler()
def call():
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": "", "SERVER_NAME": host,
               "SERVER_PORT": "80", "HTTP_HOST": host, "wsgi.input": io.BytesIO(b""),
               "wsgi.url_scheme": "http", "wsgi.errors": sys.stderr, "SERVER_PROTOCOL": "HTTP/1.1",
               "REMOTE_ADDR": "127.0.0.1"}
    if secret:
        environ["HTTP_AUTHORIZATION"] = "Bearer " + secret
    status = []
    b"".join(app(environ, lambda s, h, *a: status.append(s)))
    assert status[0].startswith("200"), status
for _ in range(20):
    call()
counts = {"calls": 0, "sql": 0, "redis": 0}
execute, send = utils.CursorWrapper._execute, Connection.send_packed_command
def counted_execute(self, *args, **kwargs):
    counts["sql"] += 1
    return execute(self, *args, **kwargs)
def counted_send(self, *args, **kwargs):
    counts["redis"] += 1
    return send(self, *args, **kwargs)
utils.CursorWrapper._execute, Connection.send_packed_command = counted_execute, counted_send
def profile(frame, event, arg):
    if event == "call":
        counts["calls"] += 1
sys.setprofile(profile)
for _ in range(n):
    call()
sys.setprofile(None)
print(json.dumps({key: value / n for key, value in counts.items()}))
"""


def count_work(env: dict[str, str], secret: str, host: str, n: int = 100) -> dict[str, float]:
    completed = subprocess.run(
        [PYTHON, "-c", COUNT_WORK, secret, host, PATH, str(n)],
        cwd=REPO, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if completed.returncode != 0:
        raise SystemExit(f"counting the work failed:\n{completed.stderr[-3000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=20, help="even: a round of each order per pair")
    parser.add_argument("--connections", type=int, default=8)
    quick_defaults(parser, seconds=1, rounds=2)
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    wrk = wrk_binary()
    host = f"bench.{os.environ.get('SAAS_BASE_DOMAIN', 'localhost')}"
    with throwaway_database(server_url(), env=base_environment()) as database_url:
        env = base_environment(
            DATABASE_URL=database_url,
            API_RATE_LIMIT_PER_CALLER="100000000/60",
            API_RATE_LIMIT_PER_TENANT="100000000/60",
        )
        settings_env = {**env, "DJANGO_SETTINGS_MODULE": "config.settings"}
        bench_tenant_create(env)
        seeded = subprocess.run(
            [PYTHON, "manage.py", "shell", "-c", SEED],
            cwd=REPO, env=settings_env, check=True, capture_output=True, text=True,
        )  # fmt: skip
        secret = seeded.stdout.strip().splitlines()[-1]
        plain_env = {
            **env,
            "DJANGO_SETTINGS_MODULE": "bench.plain_drf_settings",
            "BENCH_TENANT_SCHEMA": "t_bench",
        }
        work = {"api": count_work(settings_env, secret, host), "plain": count_work(plain_env, "", host)}
        for name, counted in work.items():
            print(f"{name:<6} per request: {counted['calls']:,.0f} Python calls, {counted['sql']:g} SQL "
                  f"statements, {counted['redis']:g} Redis commands (in-process, 100 requests)",
                  flush=True)  # fmt: skip
        # As the Procfile starts the role: persistent connections, no pool (DB_POOL_MAX_SIZE is
        # the `ws` role's, for ASGI's threads; gunicorn's sync worker keeps one connection).
        api = WebServer(settings_env, port=free_port(), workers=1, name="bench-api")
        plain_port = free_port()
        plain = ManagedProcess(
            "bench-plain-drf",
            [str(Path(PYTHON).parent / "gunicorn"), "config.wsgi:application", "--bind",
             f"127.0.0.1:{plain_port}", "--workers", "1", "--log-level", "warning"],
            plain_env,
        )  # fmt: skip
        try:
            api.start()
            plain.start()
            plain.wait_ready(
                lambda: url_answers(f"http://127.0.0.1:{plain_port}{PATH}"), timeout=60, message="plain DRF"
            )
            key_header = f"Authorization: Bearer {secret}"
            targets = {
                "api": (f"http://127.0.0.1:{api.port}{PATH}", ["-H", f"Host: {host}", "-H", key_header]),
                "plain": (f"http://127.0.0.1:{plain_port}{PATH}", ["-H", f"Host: {host}"]),
            }
            bodies = {name: fetch(url, headers) for name, (url, headers) in targets.items()}
            for name, body in bodies.items():
                rows = json.loads(body)["results"]
                assert len(rows) == 50, (name, len(rows))
            print(f"both answer {PATH} with a page of 50 (of 100 rows)", flush=True)
            runs: dict[str, list[float]] = {name: [] for name in targets}
            cpu: dict[str, list[float]] = {name: [] for name in targets}
            servers = {"api": api.pid, "plain": plain.pid}
            for round_number in range(1, args.rounds + 1):
                for name in turn_order(list(targets), round_number):
                    url, headers = targets[name]
                    if round_number == 1:  # warm-up; the servers stay warm between rounds
                        load_with(wrk, url, headers, seconds=1, connections=args.connections)
                    before = cpu_seconds(servers[name], database_url, env["REDIS_URL"])
                    rps, requests = load_with(
                        wrk, url, headers, seconds=args.seconds, connections=args.connections
                    )
                    after = cpu_seconds(servers[name], database_url, env["REDIS_URL"])
                    used = cpu_seconds_between(before[0], after[0]) + after[1] - before[1]
                    cpu_ms = used / requests * 1000
                    runs[name].append(rps)
                    cpu[name].append(cpu_ms)
                    print(f"  round {round_number} {name:<6} {rps:8.0f} req/s  cpu {cpu_ms:6.3f} ms/request "
                          f"(load average {os.getloadavg()[0]:.2f})", flush=True)  # fmt: skip
            latencies = sequential_latencies(api.port, host, secret, count=300)
        finally:
            api.stop()
            plain.stop()
    api_cpu, plain_cpu = statistics.median(cpu["api"]), statistics.median(cpu["plain"])
    api_rps = statistics.median(runs["api"])
    plain_rps = statistics.median(runs["plain"])
    # A round's ratio compares the two under the same machine load; the verdict pairs a round
    # of each order (bench/_common.py, paired rounds).
    round_ratios = [api / plain for api, plain in zip(runs["api"], runs["plain"], strict=True)]
    cpu_ratios = [plain / api for api, plain in zip(cpu["api"], cpu["plain"], strict=True)]
    ratio, cpu_ratio = paired_median(round_ratios), paired_median(cpu_ratios)
    p95 = percentile(latencies, 0.95)
    verdict = "met" if ratio >= TARGET_RATIO else "MISSED"
    print(f"\napi {api_rps:.0f} req/s, plain DRF {plain_rps:.0f} req/s, ratio {ratio:.3f} (paired median of "
          f"the rounds' {', '.join(f'{r:.3f}' for r in round_ratios)}; target >= {TARGET_RATIO}: "
          f"{verdict}), p95 {p95:.2f} ms; cpu per request {api_cpu:.3f} vs {plain_cpu:.3f} ms, "
          f"ratio {cpu_ratio:.3f}")  # fmt: skip
    print(json.dumps({"api_rps": round(api_rps, 1), "plain_drf_rps": round(plain_rps, 1),
                      "ratio": round(ratio, 3), "p95_ms": round(p95, 2),
                      "api_cpu_ms": round(api_cpu, 3), "plain_drf_cpu_ms": round(plain_cpu, 3),
                      "cpu_ratio": round(cpu_ratio, 3),
                      "round_ratios": [round(r, 3) for r in round_ratios],
                      "calls_ratio": round(work["plain"]["calls"] / work["api"]["calls"], 3),
                      "api_round_trips": work["api"]["sql"] + work["api"]["redis"],
                      "plain_round_trips": work["plain"]["sql"] + work["plain"]["redis"],
                      "load_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)]}))  # fmt: skip


def header_pairs(headers: list[str]) -> dict[str, str]:
    values = headers[1::2]
    return dict(value.split(": ", 1) for value in values)


def fetch(url: str, headers: list[str]) -> str:
    _, _, rest = url.partition("//")
    address, _, path = rest.partition("/")
    hostname, _, port = address.partition(":")
    connection = http.client.HTTPConnection(hostname, int(port), timeout=10)
    connection.request("GET", "/" + path, headers=header_pairs(headers))
    response = connection.getresponse()
    body = response.read().decode()
    connection.close()
    if response.status != 200:
        raise SystemExit(f"{url} answered {response.status}: {body[:500]}")
    return body


def cpu_seconds(server_pid: int, database_url: str, redis_url: str) -> tuple[dict[int, float], float]:
    """User + system CPU seconds so far of each process of the server's tree and of the
    PostgreSQL backends connected to the run's database (by pid: a backend replaced during a
    run never makes the figure negative, bench/_common.py), and of the Redis server."""
    used = redis.Redis.from_url(redis_url).info("cpu")
    return (
        server_and_backends_cpu(server_pid, "datname = %s", [database_url.rsplit("/", 1)[1]]),
        float(used["used_cpu_user"]) + float(used["used_cpu_sys"]),
    )


def load_with(wrk: str, url: str, headers: list[str], *, seconds: int, connections: int) -> tuple[float, int]:
    """Requests per second and requests of one wrk run sending `headers` (["-H", "Name: value",
    ...]); errors fail it."""
    output = subprocess.run(
        [wrk, "-t1", f"-c{connections}", f"-d{seconds}s", *headers, url],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    if "Non-2xx" in output or "Socket errors" in output:
        raise SystemExit(f"wrk saw errors:\n{output}")
    requests = int(output.split(" requests in ")[0].split()[-1])
    return float(output.split("Requests/sec:")[1].split()[0]), requests


def sequential_latencies(port: int, host: str, secret: str, *, count: int) -> list[float]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    latencies = []
    for _ in range(count):
        started = time.perf_counter()
        connection.request("GET", PATH, headers={"Host": host, "Authorization": f"Bearer {secret}"})
        response = connection.getresponse()
        response.read()
        assert response.status == 200, response.status
        latencies.append((time.perf_counter() - started) * 1000)
    connection.close()
    return latencies


if __name__ == "__main__":
    main()

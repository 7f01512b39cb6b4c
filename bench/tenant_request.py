"""Cost of tenant routing per request: a one-query view with and without it, under uvicorn.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/saas REDIS_URL=redis://127.0.0.1:6379/1 \\
        .venv/bin/python bench/tenant_request.py [--seconds 8] [--rounds 5] [--connections 16]

In a throwaway database (bench/_common.py) with one tenant, three uvicorn servers run the
same view (bench/urls.py: `AuditEvent.objects.count()` in the tenant's schema), each as the
Procfile runs the web process but with `--workers 1`, persistent database connections, logs
to /dev/null (still rendered), DEBUG off. They differ only in routing (bench/request_settings.py):

- tenant:         our TenantResolutionMiddleware + backend (the project as deployed);
- plain:          no routing, the connection's search_path fixed to the tenant's schema;
- django-tenants: TenantMainMiddleware + django-tenants' backend (for reference).

wrk (loopback, 1 thread, `--connections` connections) loads each for `--seconds` after a
2-second warm-up, servers taking turns, `--rounds` times; each figure is the median over
rounds. Beside wall-clock req/s, the CPU time each request costs is measured: the uvicorn
process's plus its PostgreSQL backends' (found by application_name), from /proc. On a
machine shared with other work, wall-clock figures swing with the neighbours' load while
CPU per request does not, so "cpu req/s" (1 / CPU seconds per request: what one fully
used core would serve) is the steadier comparison.

Target: tenant / plain >= 0.95. The last line printed is JSON:
{"tenant_rps": .., "plain_rps": .., "ratio": tenant/plain, "cpu_ratio": .., ...}.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    PYTHON,
    REPO,
    admin_connection,
    base_environment,
    bench_database,
    free_port,
    server_url,
    with_database,
)

TARGET_RATIO = 0.95
VARIANTS = {"tenant": "ours", "plain": "plain", "django-tenants": "django_tenants"}
PATH = "/bench/one-query/"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=8, help="measured seconds per run (default 8)")
    parser.add_argument("--rounds", type=int, default=5, help="runs per server, interleaved (default 5)")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (default 16)")
    args = parser.parse_args()
    wrk = shutil.which("wrk")
    if wrk is None:
        sys.exit("wrk is missing: apt-get install -y wrk")

    base_domain = os.environ.get("SAAS_BASE_DOMAIN", "localhost")
    host, schema = f"bench.{base_domain}", "t_bench"
    with bench_database() as database:
        env = base_environment(DATABASE_URL=with_database(server_url(), database), LOG_LEVEL="INFO")
        subprocess.run(
            [PYTHON, "manage.py", "create_tenant", "bench", "Bench", "owner@bench.example",
             "--password", "bench-password-123"],
            cwd=REPO, env={**env, "DJANGO_SETTINGS_MODULE": "config.settings"}, check=True,
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        servers = {
            name: start_server(routing, env={**env, "BENCH_TENANT_SCHEMA": schema})
            for name, routing in VARIANTS.items()
        }
        try:
            bodies = {name: wait_ready(process, port, host) for name, (process, port) in servers.items()}
            if len(set(bodies.values())) != 1:
                raise SystemExit(f"the servers disagree on the view's answer: {bodies}")
            print(f"all three answer {PATH} on {host} with {bodies['tenant']!r}", flush=True)
            runs: dict[str, list[tuple[float, float, float]]] = {name: [] for name in servers}
            for round_number in range(1, args.rounds + 1):
                for name, (process, port) in servers.items():
                    url = f"http://127.0.0.1:{port}{PATH}"
                    load(wrk, url, host, seconds=2, connections=args.connections)  # warm-up
                    cpu_before = cpu_seconds(process.pid, VARIANTS[name])
                    rps, median_ms, requests = load(
                        wrk, url, host, seconds=args.seconds, connections=args.connections
                    )
                    cpu_ms = (cpu_seconds(process.pid, VARIANTS[name]) - cpu_before) / requests * 1000
                    runs[name].append((rps, median_ms, cpu_ms))
                    print(
                        f"  round {round_number} {name:<15} {rps:7.0f} req/s  median {median_ms:6.2f} ms  "
                        f"cpu {cpu_ms:5.2f} ms/request  (load average {os.getloadavg()[0]:.1f})",
                        flush=True,
                    )
        finally:
            for process, _ in servers.values():
                stop(process)

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
                "tenant_cpu_ms": round(figures["tenant"][2], 3),
                "plain_cpu_ms": round(plain_cpu, 3),
                "django_tenants_rps": round(figures["django-tenants"][0], 1),
                "django_tenants_cpu_ms": round(figures["django-tenants"][2], 3),
            }
        )
    )


def start_server(routing: str, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    command = [
        str(Path(PYTHON).parent / "uvicorn"), "config.asgi:application", "--host", "127.0.0.1",
        "--port", str(port), "--workers", "1", "--no-access-log", "--lifespan", "off",
    ]  # fmt: skip
    process = subprocess.Popen(
        command,
        cwd=REPO,
        env={**env, "DJANGO_SETTINGS_MODULE": "bench.request_settings", "BENCH_ROUTING": routing},
        stdout=subprocess.DEVNULL,
        stderr=tempfile.TemporaryFile(),  # noqa: SIM115 (lives as long as the server; read if it dies)
        start_new_session=True,
    )
    return process, port


def wait_ready(process: subprocess.Popen[bytes], port: int, host: str) -> str:
    """Wait for the server, then check the view answers on the tenant host; its body."""
    deadline = time.monotonic() + 60
    request = urllib.request.Request(f"http://127.0.0.1:{port}{PATH}", headers={"Host": host})
    while True:
        try:
            with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 (loopback)
                return response.read().decode()
        except OSError as error:
            if process.poll() is not None or time.monotonic() > deadline:
                process.stderr.seek(0)  # type: ignore[union-attr]
                log = process.stderr.read().decode()[-3000:]  # type: ignore[union-attr]
                raise SystemExit(f"server on port {port} is not answering:\n{log}") from error
            time.sleep(0.2)


def cpu_seconds(server_pid: int, routing: str) -> float:
    """User + system CPU time of the server process and of its PostgreSQL backends."""
    with admin_connection() as conn:
        backends = [
            pid
            for (pid,) in conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE application_name = %s", [f"bench-{routing}"]
            ).fetchall()
        ]
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in [server_pid, *backends]:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:  # a backend that ended between the two reads
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return total


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


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


if __name__ == "__main__":
    main()

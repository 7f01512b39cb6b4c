"""Cost of tracing per request: the same tenant page with spans exported vs tracing off.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/saas REDIS_URL=redis://127.0.0.1:6379/1 \\
        .venv/bin/python bench/tracing.py [--seconds 2] [--rounds 20] [--connections 16]

In a throwaway database (devtools.databases) with one tenant, two servers run the Procfile's
`web` role (gunicorn, one sync worker, logs at INFO, DEBUG off) serving bench/urls.py's
one-query view on the tenant's host through the project's routing (bench/request_settings.py,
"ours"): one with `OTEL_EXPORTER_OTLP_ENDPOINT` pointing at a loopback OTLP/HTTP receiver in
this process (devtools/telemetry_sink.py; every request's spans: the Django request, its SQL
statements, exported in batches), one with tracing off (no SDK loaded). wrk loads each for
`--seconds` (a 2-second warm-up first), servers taking turns in alternating order, `--rounds`
times; req/s and CPU figures are medians over rounds, and the ratios are compared within each
round and paired over a round of each order (bench/_common.py, paired rounds). The receiver's
span count proves the spans left the server. Beside
wall-clock req/s, the CPU time of the server's processes per request is measured (/proc): on
a machine shared with other work wall-clock figures swing with the neighbours' load, CPU per
request much less, so "cpu_ratio" (off's CPU per request / on's) is the steadier comparison.

Target: tracing on / off >= 0.85. The last line printed is JSON:
{"tracing_on_rps": .., "tracing_off_rps": .., "tracing_on_vs_off": .., "cpu_ratio": ..,
 "tracing_on_cpu_ms": .., "tracing_off_cpu_ms": .., "spans_exported": .., "spans_per_request": ..}.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    base_environment,
    bench_tenant_create,
    cpu_seconds_of,
    paired_median,
    quick_defaults,
    server_pids,
    server_url,
    turn_order,
    wrk_binary,
)
from tenant_request import PATH, load, view_body

from devtools.databases import throwaway_database
from devtools.processes import WebServer, free_port, wait_until
from devtools.telemetry_sink import TelemetrySink

TARGET_RATIO = 0.85


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=2, help="measured seconds per run (default 2)")
    parser.add_argument("--rounds", type=int, default=20, help="runs per server, interleaved (even)")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (default 16)")
    quick_defaults(parser, seconds=2, rounds=2)
    args = parser.parse_args()
    wrk = wrk_binary()

    base_domain = os.environ.get("SAAS_BASE_DOMAIN", "localhost")
    host, schema = f"bench.{base_domain}", "t_bench"
    sink = TelemetrySink()
    with throwaway_database(server_url(), env=base_environment()) as database_url:
        env = base_environment(DATABASE_URL=database_url, LOG_LEVEL="INFO")
        bench_tenant_create(env)
        common = {
            **env,
            "DJANGO_SETTINGS_MODULE": "bench.request_settings",
            "BENCH_ROUTING": "ours",
            "BENCH_TENANT_SCHEMA": schema,
        }
        common.pop("OTEL_EXPORTER_OTLP_ENDPOINT", None)
        common.pop("SENTRY_DSN", None)
        variants = {
            "tracing-on": {**common, "OTEL_EXPORTER_OTLP_ENDPOINT": sink.url},
            "tracing-off": common,
        }
        servers: dict[str, WebServer] = {}
        runs: dict[str, list[float]] = {name: [] for name in variants}
        cpu: dict[str, list[float]] = {name: [] for name in variants}
        requests_on = 1  # view_body's
        try:
            for name, variant_env in variants.items():
                servers[name] = WebServer(variant_env, port=free_port(), name=f"bench-{name}", role="web")
                servers[name].start()
            bodies = {name: view_body(server, host) for name, server in servers.items()}
            if len(set(bodies.values())) != 1:
                raise SystemExit(f"the servers disagree on the view's answer: {bodies}")
            wait_until(sink.spans, timeout=15, message="the first exported spans")
            print(f"both answer {PATH} on {host} with {bodies['tracing-on']!r}", flush=True)
            for round_number in range(1, args.rounds + 1):
                for name in turn_order(list(servers), round_number):
                    server = servers[name]
                    url = f"http://127.0.0.1:{server.port}{PATH}"
                    warm_up = 0
                    if round_number == 1:  # the servers stay warm between rounds
                        _, _, warm_up = load(wrk, url, host, seconds=2, connections=args.connections)
                    cpu_before = cpu_seconds_of(server_pids(server.pid))
                    rps, median_ms, requests = load(
                        wrk, url, host, seconds=args.seconds, connections=args.connections
                    )
                    cpu_ms = (cpu_seconds_of(server_pids(server.pid)) - cpu_before) / requests * 1000
                    cpu[name].append(cpu_ms)
                    if name == "tracing-on":
                        requests_on += warm_up + requests
                    runs[name].append(rps)
                    print(
                        f"  round {round_number} {name:<12} {rps:7.0f} req/s  median {median_ms:6.2f} ms  "
                        f"cpu {cpu_ms:5.2f} ms/request  "
                        f"(load average {os.getloadavg()[0]:.1f})",
                        flush=True,
                    )
        finally:
            for server in servers.values():
                server.stop()  # gunicorn's worker exports what it still holds on the way out
    spans = sink.span_count()
    sink.close()

    on, off = statistics.median(runs["tracing-on"]), statistics.median(runs["tracing-off"])
    cpu_on, cpu_off = statistics.median(cpu["tracing-on"]), statistics.median(cpu["tracing-off"])
    # Per round, then paired over rounds of each order (bench/_common.py, paired rounds).
    ratio = paired_median([a / b for a, b in zip(runs["tracing-on"], runs["tracing-off"], strict=True)])
    cpu_ratio = paired_median([b / a for a, b in zip(cpu["tracing-on"], cpu["tracing-off"], strict=True)])
    print(
        f"\ntracing on {on:.0f} req/s ({cpu_on:.2f} ms CPU/request), off {off:.0f} req/s "
        f"({cpu_off:.2f} ms); {spans} spans exported"
    )
    print(
        f"target on/off >= {TARGET_RATIO}: wall clock {ratio:.3f} "
        f"({'met' if ratio >= TARGET_RATIO else 'MISSED'}), "
        f"cpu {cpu_ratio:.3f} ({'met' if cpu_ratio >= TARGET_RATIO else 'MISSED'})"
    )
    print(
        json.dumps(
            {
                "tracing_on_rps": round(on, 1),
                "tracing_off_rps": round(off, 1),
                "tracing_on_vs_off": round(ratio, 3),
                "cpu_ratio": round(cpu_ratio, 3),
                "tracing_on_cpu_ms": round(cpu_on, 3),
                "tracing_off_cpu_ms": round(cpu_off, 3),
                "spans_exported": spans,
                "spans_per_request": round(spans / max(requests_on, 1), 2),
            }
        )
    )


if __name__ == "__main__":
    main()

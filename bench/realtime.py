"""Live dashboard delivery: commit -> message at every socket, for both channels-redis layers.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/saas REDIS_URL=redis://127.0.0.1:6379/1 \\
        .venv/bin/python bench/realtime.py [--sockets 500] [--other 50] [--paced 30] [--burst 200] \\
        [--clients 4] [--settle 40] [--layers core,pubsub]

In a throwaway database with two tenants (A and B), for each layer (RedisChannelLayer,
RedisPubSubChannelLayer): the Procfile's `ws` role (uvicorn, WS_CONCURRENCY=2) on loopback;
`--sockets` dashboard sockets on A's host and `--other` on B's, each signed in with a real
session, opened together (connects/s: sockets whose snapshot arrived per second). Then a
driver process (Django, the real services) commits:

- paced: `--paced` invitations accepted one after another (`invitation_accept`, the real
  member.joined path: outbox -> receiver -> saas.broadcast), 50 ms apart;
- burst: `--burst` messages committed back to back on A's stream (broadcast_on_commit).

The sockets are `--clients` load-client processes' (default 4): one event loop parsing 550
sockets' frames was itself the bottleneck, and its lag read as server latency. They belong
to a plain member, so the owner's own stream (an unread count after each accept) reaches
no bench socket, as in use.

The commit time is taken by an on-commit callback registered before the service's own, so
it runs first; each socket stamps arrival. Per layer: p50/p95/max ms from a membership
change committing to its message at each socket (the issue's latency; `all_*` include the
burst), `burst_drain_s` (last burst commit -> its last message anywhere); every (message,
socket) pair is `delivered` as a message, `covered_by_snapshot` (not sent as a message, but
a snapshot after its commit carried the state), or `lost` (neither, within `--settle` s of
the last commit); `over_capacity` counts the sender's channels_redis "over capacity" drops;
`resyncs` counts later snapshots by reason; leaked: frames at B's sockets; connects/s;
the 1-minute load average before and after. The last line is JSON for the layer kept (the
settings' default), with both layers' figures beside it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import subprocess
import sys
import time
from multiprocessing.connection import Connection
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    PYTHON,
    REPO,
    base_environment,
    cpu_seconds_of,
    percentile,
    quick_defaults,
    server_pids,
    server_url,
)

from devtools.databases import throwaway_database
from devtools.processes import WebServer, free_port

LAYERS = {
    "core": "channels_redis.core.RedisChannelLayer",
    "pubsub": "realtime.layers.PubSubChannelLayer",
}
KEPT = "pubsub"  # config/settings.py's default

SETUP = """
import json, sys
import django
django.setup()
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.auth import SESSION_KEY, BACKEND_SESSION_KEY, HASH_SESSION_KEY
from accounts.models import User
from accounts.services import membership_create
from billing.models import BillingAccount
from tenants.services import tenant_provision
out = {}
for slug in ("benchlive", "benchother"):
    tenant = tenant_provision(name=slug.title(), slug=slug)
    BillingAccount.objects.update_or_create(tenant=tenant, defaults={"plan": "business", "seats": 100000})
    owner = User.objects.create_user(f"owner@{slug}.example", None, full_name="Owner " + slug)
    membership_create(user=owner, tenant=tenant, role="owner")
    # The sockets are a plain member's: the owner's own stream (notifications.count after
    # each accept) then reaches the owner's sockets only, as it would in use.
    viewer = User.objects.create_user(f"viewer@{slug}.example", None, full_name="Viewer " + slug)
    membership_create(user=viewer, tenant=tenant, role="member")
    host = tenant.domains.get(is_primary=True).domain
    session = SessionStore()
    session[SESSION_KEY] = str(viewer.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = viewer.get_session_auth_hash()
    session["_session_host"] = host
    session.save()
    out[slug] = {"host": host, "session": session.session_key, "owner": owner.pk}
print(json.dumps(out))
"""

DRIVE = """
import json, sys, time
import django
django.setup()
from django.db import transaction
from accounts.models import User
from invitations.services import invitation_accept, invitation_create
from saas.broadcast import broadcast_on_commit, tenant_stream
from tenants.models import Tenant
mode, count, run = sys.argv[1], int(sys.argv[2]), sys.argv[3]
import logging
class Drops(logging.Handler):
    count = 0
    def emit(self, record):
        if "over capacity" in record.getMessage():
            Drops.count += 1
drops = Drops()
logging.getLogger("channels_redis").addHandler(drops)
logging.getLogger("channels_redis").setLevel(logging.INFO)
tenant = Tenant.objects.get(schema_name="t_benchlive")
owner = User.objects.get(email="owner@benchlive.example")
def stamp(key):
    transaction.on_commit(lambda: print(json.dumps({"key": key, "t": time.time()}), flush=True))
for i in range(count):
    key = f"{run}-{mode}-{i}"
    if mode == "paced":
        email = f"{key}@benchlive.example"
        user = User.objects.create_user(email, None, full_name=key)
        invitation = invitation_create(tenant=tenant, inviter=owner, email=email, role="member")
        with transaction.atomic():
            stamp(key)
            invitation_accept(invitation=invitation, user=user)
        time.sleep(0.05)
    else:
        with transaction.atomic():
            stamp(key)
            message = {"type": "plan.changed", "plan": {"name": key}}
            broadcast_on_commit(tenant_stream(tenant.schema_name), message)
print(json.dumps({"over_capacity": Drops.count}), flush=True)
"""


def django_run(code: str, env: dict[str, str], *args: str, timeout: float = 300) -> str:
    completed = subprocess.run(
        [PYTHON, "-c", code, *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if completed.returncode != 0:
        raise SystemExit(f"driver failed:\n{completed.stderr[-3000:]}")
    return completed.stdout


def key_of(frame: dict) -> str | None:
    if frame.get("type") == "membership.changed" and frame.get("member"):
        return frame["member"]["name"]
    if frame.get("type") == "plan.changed":
        return frame["plan"].get("name")
    return None


async def client_sockets(port: int, setup: dict, plan: list[str], control: Connection) -> None:
    """One load-client process: its share of the sockets, on its own event loop.

    Tells the parent "open" (with snapshot times) once every socket has its snapshot, waits
    for "stop", then sends what each socket saw: arrival time per message key, and the time
    and reason of every later snapshot.
    """
    import websockets
    from websockets.typing import Origin

    sockets: list[dict] = []
    opened: list[float] = []
    leaked = [0]

    async def client(slug: str) -> None:
        info = setup[slug]
        netloc = f"{info['host']}:{port}"
        record: dict = {"slug": slug, "seen": {}, "snapshots": []}
        sockets.append(record)
        async with websockets.connect(
            f"ws://{netloc}/ws/dashboard/", host="127.0.0.1", port=port, open_timeout=120,
            origin=Origin(f"http://{netloc}"), additional_headers={"Cookie": f"sessionid={info['session']}"},
            max_queue=None, ping_interval=None,
        ) as connection:  # fmt: skip
            first = json.loads(await asyncio.wait_for(connection.recv(), 120))
            assert first["type"] == "snapshot", first
            opened.append(time.time())
            async for raw in connection:
                now = time.time()
                frame = json.loads(raw)
                if slug != "benchlive":
                    leaked[0] += 1
                elif frame["type"] == "snapshot":
                    record["snapshots"].append((now, frame["reason"]))
                elif (key := key_of(frame)) is not None:
                    record["seen"].setdefault(key, now)

    tasks = [asyncio.create_task(client(slug)) for slug in plan]
    deadline = time.time() + 150
    while len(opened) < len(tasks) and time.time() < deadline:
        for task in tasks:
            if task.done():
                task.result()  # a socket that failed to open fails the run
        await asyncio.sleep(0.05)
    control.send(("open", opened))
    cpu_start = time.process_time()
    await asyncio.to_thread(control.recv)  # "stop"
    cpu_seconds = time.process_time() - cpu_start
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    control.send(("done", {"sockets": sockets, "leaked": leaked[0], "cpu_s": cpu_seconds}))


def client_process(port: int, setup: dict, plan: list[str], control: Connection) -> None:
    asyncio.run(client_sockets(port, setup, plan, control))


def measure(
    port: int, setup: dict, args: argparse.Namespace, env: dict[str, str], run: str, server_pid: int
) -> dict:
    """Open the sockets from `args.clients` processes, commit, and classify every (message, socket).

    CPU while the messages flow (from the last socket open to the end of the settle time) is
    measured for the servers (the uvicorn process tree) and the load clients separately: on a
    small machine they share the cores, and the clients' share is not the product's cost.
    """
    load_before = os.getloadavg()[0]
    plans: list[list[str]] = [[] for _ in range(args.clients)]
    everyone = ["benchlive"] * args.sockets + ["benchother"] * args.other
    for index, slug in enumerate(everyone):
        plans[index % args.clients].append(slug)
    context = multiprocessing.get_context("spawn")
    pipes, processes = [], []
    started = time.time()
    for plan in plans:
        parent, child = context.Pipe()
        process = context.Process(target=client_process, args=(port, setup, plan, child), daemon=True)
        process.start()
        pipes.append(parent)
        processes.append(process)
    opened: list[float] = []
    for pipe in pipes:
        if not pipe.poll(180):
            raise SystemExit("a load client did not open its sockets in time")
        _kind, times = pipe.recv()
        opened += times
    connects_per_s = len(opened) / max(1e-6, max(opened) - started) if opened else 0.0
    phase_started, server_cpu_start = time.time(), cpu_seconds_of(server_pids(server_pid))
    commits: dict[str, float] = {}
    over_capacity = 0
    for mode, count in (("paced", args.paced), ("burst", args.burst)):
        output = django_run(DRIVE, env, mode, str(count), run)
        for line in output.splitlines():
            if line.startswith("{"):
                row = json.loads(line)
                if "over_capacity" in row:
                    over_capacity += row["over_capacity"]
                else:
                    commits[row["key"]] = row["t"]
    time.sleep(args.settle)  # bounded: whatever has not arrived by then is late or lost
    server_cpu = cpu_seconds_of(server_pids(server_pid)) - server_cpu_start
    phase_seconds = time.time() - phase_started
    for pipe in pipes:
        pipe.send("stop")
    sockets, leaked, client_cpu = [], 0, 0.0
    for pipe, process in zip(pipes, processes, strict=True):
        if not pipe.poll(60):
            raise SystemExit("a load client did not report")
        _kind, report = pipe.recv()
        sockets += report["sockets"]
        leaked += report["leaked"]
        client_cpu += report["cpu_s"]
        process.join(10)
    live = [s for s in sockets if s["slug"] == "benchlive"]
    latencies, paced, covered, lost = [], [], 0, 0
    last_burst = max((t for key, t in commits.items() if "-burst-" in key), default=0.0)
    drained = 0.0  # seconds from the burst's last commit to its last message at any socket
    reasons: dict[str, int] = {}
    first: dict[str, float] = {}  # per paced message: commit -> its first socket (no fan-out)
    for record in live:
        for _t, reason in record["snapshots"]:
            reasons[reason] = reasons.get(reason, 0) + 1
        for key, committed in commits.items():
            if key in record["seen"]:
                latency = (record["seen"][key] - committed) * 1000
                latencies.append(latency)
                if "-paced-" in key:
                    paced.append(latency)
                    first[key] = min(latency, first.get(key, latency))
                else:
                    drained = max(drained, record["seen"][key] - last_burst)
            elif any(t > committed for t, _reason in record["snapshots"]):
                covered += 1  # not sent as a message: a later snapshot carried the state
            else:
                lost += 1
    return {
        # The latency: a membership change committing -> its message at each socket.
        "p50_ms": round(percentile(paced, 0.5), 1) if paced else None,
        "p95_ms": round(percentile(paced, 0.95), 1) if paced else None,
        "max_ms": round(max(paced), 1) if paced else None,
        # The path before the fan-out: commit -> outbox -> receiver -> layer -> the first socket.
        "first_p50_ms": round(percentile(list(first.values()), 0.5), 1) if first else None,
        "first_p95_ms": round(percentile(list(first.values()), 0.95), 1) if first else None,
        "all_p50_ms": round(percentile(latencies, 0.5), 1) if latencies else None,
        "all_p95_ms": round(percentile(latencies, 0.95), 1) if latencies else None,
        "burst_drain_s": round(drained, 2),
        "delivered": len(latencies),
        "covered_by_snapshot": covered,
        "lost": lost,
        "expected": len(commits) * len(live),
        "resyncs": reasons,
        "resynced_sockets": sum(1 for r in live if r["snapshots"]),
        "over_capacity": over_capacity,
        "leaked": leaked,
        "connects_per_s": round(connects_per_s, 1),
        "sockets": len(opened),
        "load_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        # CPU seconds while messages flowed (drive + settle), and that phase's length.
        "server_cpu_s": round(server_cpu, 2),
        "client_cpu_s": round(client_cpu, 2),
        "phase_s": round(phase_seconds, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sockets", type=int, default=500)
    parser.add_argument("--other", type=int, default=50)
    parser.add_argument("--paced", type=int, default=30)
    parser.add_argument("--burst", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clients", type=int, default=4, help="load-client processes")
    parser.add_argument("--settle", type=float, default=40.0, help="seconds to wait after the last commit")
    parser.add_argument("--layers", default=",".join(LAYERS), help="which layers, comma-separated")
    quick_defaults(parser, sockets=100, other=10, paced=10, burst=20, settle=10.0, layers=KEPT)
    args = parser.parse_args()
    results: dict[str, dict] = {}
    with throwaway_database(server_url(), env=base_environment()) as database_url:
        env = base_environment(DATABASE_URL=database_url, CHANNEL_LAYER_PREFIX=f"bench{os.getpid()}")
        setup = json.loads(django_run(SETUP, env).strip().splitlines()[-1])
        for name in args.layers.split(","):
            backend = LAYERS[name]
            layer_env = {
                **env,
                "CHANNEL_LAYER_BACKEND": backend,
                "CHANNEL_LAYER_PREFIX": f"bench{os.getpid()}{name}",
            }
            server = WebServer(
                layer_env, port=free_port(), workers=args.workers, name=f"ws-{name}", role="ws"
            )
            server.start()
            try:
                results[name] = measure(server.port, setup, args, layer_env, run=name, server_pid=server.pid)
            finally:
                server.stop()
            print(f"{name:<7} {json.dumps(results[name])}", flush=True)
    columns = ("p50 ms", "p95 ms", "max ms", "deliv", "covered", "lost", "dropped", "leaked", "conn/s")
    print("\nlayer   " + " ".join(f"{c:>8}" for c in columns))
    for name, r in results.items():
        cells = (r["p50_ms"], r["p95_ms"], r["max_ms"], r["delivered"], r["covered_by_snapshot"], r["lost"],
                 r["over_capacity"], r["leaked"], r["connects_per_s"])  # fmt: skip
        print(f"{name:<7} " + " ".join(f"{c!s:>8}" for c in cells))
    kept = results.get(KEPT) or next(iter(results.values()))
    shown = ("p50_ms", "p95_ms", "max_ms", "lost", "leaked", "connects_per_s", "server_cpu_s", "client_cpu_s")
    headline = {k: kept[k] for k in shown}
    print(json.dumps({**headline, "layer": LAYERS[KEPT], "layers": results}))


if __name__ == "__main__":
    main()

"""Live dashboard delivery: commit -> message at every socket, for both channels-redis layers.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/saas REDIS_URL=redis://127.0.0.1:6379/1 \\
        .venv/bin/python bench/realtime.py [--sockets 500] [--other 50] [--paced 30] [--burst 200]

In a throwaway database with two tenants (A and B), for each layer (RedisChannelLayer,
RedisPubSubChannelLayer): the Procfile's `ws` role (uvicorn, WS_CONCURRENCY=2) on loopback;
`--sockets` dashboard sockets on A's host and `--other` on B's, each signed in with a real
session, opened together (connects/s: sockets whose snapshot arrived per second). Then a
driver process (Django, the real services) commits:

- paced: `--paced` invitations accepted one after another (`invitation_accept`, the real
  member.joined path: outbox -> receiver -> saas.broadcast), 50 ms apart;
- burst: `--burst` messages committed back to back on A's stream (broadcast_on_commit).

The commit time is taken by an on-commit callback registered before the service's own, so
it runs first; each socket stamps arrival. Per layer: p50/p95/max ms over every (message,
socket) pair, lost (pairs never delivered as a message; a socket that saw the gap gets a
snapshot instead and is counted in `resynced`), leaked (frames at B's sockets), connects/s.
Everything is bounded by timeouts. The last line is JSON for the layer kept (the settings'
default), with both layers' figures beside it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import PYTHON, REPO, base_environment, percentile, server_url

from devtools.databases import throwaway_database
from devtools.processes import WebServer, free_port

LAYERS = {
    "core": "channels_redis.core.RedisChannelLayer",
    "pubsub": "channels_redis.pubsub.RedisPubSubChannelLayer",
}
KEPT = "core"  # config/settings.py's default

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
    host = tenant.domains.get(is_primary=True).domain
    session = SessionStore()
    session[SESSION_KEY] = str(owner.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = owner.get_session_auth_hash()
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


async def measure(port: int, setup: dict, args: argparse.Namespace, env: dict[str, str], run: str) -> dict:
    import websockets
    from websockets.typing import Origin

    arrivals: list[dict[str, float]] = []
    leaked = [0]
    resynced = [0]

    async def client(slug: str, index: int, ready: asyncio.Event, opened: list[float]) -> None:
        info = setup[slug]
        netloc = f"{info['host']}:{port}"
        async with websockets.connect(
            f"ws://{netloc}/ws/dashboard/", host="127.0.0.1", port=port, open_timeout=60,
            origin=Origin(f"http://{netloc}"), additional_headers={"Cookie": f"sessionid={info['session']}"},
            max_queue=None,
        ) as connection:  # fmt: skip
            first = json.loads(await asyncio.wait_for(connection.recv(), 60))
            assert first["type"] == "snapshot", first
            opened.append(time.time())
            seen: dict[str, float] = {}
            if slug == "benchlive":
                arrivals.append(seen)
            await ready.wait()
            while True:
                frame = json.loads(await connection.recv())
                now = time.time()
                if slug != "benchlive":
                    leaked[0] += 1
                elif frame["type"] == "snapshot" and frame["reason"] != "connect":
                    resynced[0] += 1
                elif (key := key_of(frame)) is not None:
                    seen.setdefault(key, now)

    ready = asyncio.Event()
    opened: list[float] = []
    started = time.time()
    tasks = [asyncio.create_task(client("benchlive", i, ready, opened)) for i in range(args.sockets)]
    tasks += [asyncio.create_task(client("benchother", i, ready, opened)) for i in range(args.other)]
    deadline = time.time() + 120
    while len(opened) < len(tasks) and time.time() < deadline:
        failed = [t for t in tasks if t.done()]
        if failed:
            failed[0].result()
        await asyncio.sleep(0.05)
    connects_per_s = len(opened) / max(1e-6, (max(opened) - started)) if opened else 0.0
    ready.set()
    commits: dict[str, float] = {}
    for mode, count in (("paced", args.paced), ("burst", args.burst)):
        output = await asyncio.to_thread(django_run, DRIVE, env, mode, str(count), run)
        for line in output.splitlines():
            if line.startswith("{"):
                row = json.loads(line)
                commits[row["key"]] = row["t"]
    # Let the last messages arrive (bounded).
    expected = len(commits) * args.sockets
    settle = time.time() + 30
    while sum(len(seen) for seen in arrivals) < expected and time.time() < settle:
        await asyncio.sleep(0.2)
    await asyncio.sleep(1.0)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    latencies = [(seen[key] - t) * 1000 for seen in arrivals for key, t in commits.items() if key in seen]
    paced = [
        (seen[key] - t) * 1000
        for seen in arrivals
        for key, t in commits.items()
        if key in seen and "-paced-" in key
    ]
    return {
        "p50_ms": round(percentile(latencies, 0.5), 1) if latencies else None,
        "p95_ms": round(percentile(latencies, 0.95), 1) if latencies else None,
        "max_ms": round(max(latencies), 1) if latencies else None,
        "paced_p50_ms": round(percentile(paced, 0.5), 1) if paced else None,
        "paced_p95_ms": round(percentile(paced, 0.95), 1) if paced else None,
        "lost": expected - len(latencies),
        "resynced": resynced[0],
        "leaked": leaked[0],
        "connects_per_s": round(connects_per_s, 1),
        "sockets": len(opened),
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
    args = parser.parse_args()
    results: dict[str, dict] = {}
    with throwaway_database(server_url(), env=base_environment()) as database_url:
        env = base_environment(DATABASE_URL=database_url, CHANNEL_LAYER_PREFIX=f"bench{os.getpid()}")
        setup = json.loads(django_run(SETUP, env).strip().splitlines()[-1])
        for name, backend in LAYERS.items():
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
                results[name] = asyncio.run(measure(server.port, setup, args, layer_env, run=name))
            finally:
                server.stop()
            print(f"{name:<7} {json.dumps(results[name])}", flush=True)
    columns = ("p50 ms", "p95 ms", "max ms", "lost", "resync", "leaked", "conn/s")
    print("\nlayer   " + " ".join(f"{c:>7}" for c in columns))
    for name, r in results.items():
        print(f"{name:<7} {r['p50_ms']!s:>7} {r['p95_ms']!s:>7} {r['max_ms']!s:>8} {r['lost']:>6} "
              f"{r['resynced']:>7} {r['leaked']:>7} {r['connects_per_s']:>7}")  # fmt: skip
    kept = results[KEPT]
    headline = {k: kept[k] for k in ("p50_ms", "p95_ms", "max_ms", "lost", "leaked", "connects_per_s")}
    print(json.dumps({**headline, "layer": LAYERS[KEPT], "resynced": kept["resynced"], "layers": results}))


if __name__ == "__main__":
    main()

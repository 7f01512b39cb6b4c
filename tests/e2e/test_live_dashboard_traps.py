"""The channel-layer settings' traps (config/settings.py, README "Real time"), each through the
Procfile's `ws` role (uvicorn, one process) on the RedisChannelLayer, whose traps they are.

- socket_timeout: the layer's receive blocks on Redis for 5 s; at redis-py's default 5 s
  read timeout the blocking read timed out first and killed an idle socket's receive loop.
  Idle sockets must outlive several of those 5 s windows and still get the next message.
- max_connections: every connect and close borrows a pool connection (group add/discard);
  at redis-py's 100, hundreds together failed "Too many connections", answering handshakes
  with 500 and leaving closed sockets in groups. None may happen.
- capacity: a process's sockets share one Redis list, and what does not fit is dropped with
  an INFO line in the sender. The server process is paused (SIGSTOP) while a burst bigger
  than a deliberately small capacity is committed: messages are really dropped, and every
  socket must notice (a gap or a counter that moved) and end with the database's state.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
import uuid

import pytest
import redis
import websockets
from django.conf import settings
from django_tenants.utils import schema_context
from websockets.typing import Origin

from accounts.models import User
from accounts.services import membership_create
from devtools.processes import REPO_DIR, signal_group
from notifications.models import Notification
from saas.broadcast import tenant_stream, user_stream
from tenants.models import Tenant
from tenants.services import tenant_provision
from tests.conftest import host_of
from tests.e2e.support.live_client import LiveClient, until
from tests.realtime.conftest import session_cookie

pytestmark = pytest.mark.e2e
CORE = "channels_redis.core.RedisChannelLayer"
PUBSUB = "realtime.layers.PubSubChannelLayer"  # config/settings.py's default
BURST_CAPACITY = 10


@pytest.fixture
def e2e_env_overrides(request) -> dict[str, str | None]:
    return {"CHANNEL_LAYER_BACKEND": CORE, **getattr(request, "param", {})}


def owner_on_a_new_tenant(prefix: str) -> tuple[Tenant, User, str]:
    tenant = tenant_provision(name=f"Acme {prefix}", slug=f"{prefix}{uuid.uuid4().hex[:8]}")
    owner = User.objects.create_user("owner@example.com", None, full_name="Olive Owner")
    membership_create(user=owner, tenant=tenant, role="owner")
    return tenant, owner, session_cookie(owner, host_of(tenant))


def connect(netloc: str, port: int, cookie: str):
    return websockets.connect(
        f"ws://{netloc}/ws/dashboard/", host="127.0.0.1", port=port, origin=Origin(f"http://{netloc}"),
        additional_headers={"Cookie": f"{settings.SESSION_COOKIE_NAME}={cookie}"}, open_timeout=20,
    )  # fmt: skip


BROADCAST = """
import sys
import django
django.setup()
from saas.broadcast import broadcast_now
broadcast_now(sys.argv[1], {"type": "plan.changed", "plan": {"name": sys.argv[2]}})
"""


def run_django(env: dict[str, str], code: str, *args: str) -> None:
    """Django code in a process of its own: the sender's layer settings are the environment's."""
    completed = subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=REPO_DIR, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr[-3000:]


def test_idle_sockets_outlive_the_layers_five_second_blocking_receive(e2e_env, sockets_server):
    tenant, _owner, cookie = owner_on_a_new_tenant("idle")
    netloc = f"{host_of(tenant)}:{sockets_server.port}"

    async def body():
        sockets = [await connect(netloc, sockets_server.port, cookie).__aenter__() for _ in range(10)]
        try:
            for connection in sockets:
                assert json.loads(await asyncio.wait_for(connection.recv(), 10))["type"] == "snapshot"
            await asyncio.sleep(13)  # two and a half 5 s blocking receives, nothing sent
            await asyncio.to_thread(
                run_django, e2e_env, BROADCAST, tenant_stream(tenant.schema_name), "Still here"
            )
            frames = [json.loads(await asyncio.wait_for(c.recv(), 10)) for c in sockets]
            return [(f["type"], f["plan"]["name"]) for f in frames]
        finally:
            for connection in sockets:
                await connection.close()

    assert asyncio.run(body()) == [("plan.changed", "Still here")] * 10
    assert "Timeout reading" not in sockets_server.log()


def group_members(client: redis.Redis, backend: str, streams: list[str]) -> list[int]:
    """What the layer still holds for these groups: the core layer's group sorted sets, or the
    pub/sub layer's subscriptions (a server process subscribes a group's channel once for all
    its sockets and unsubscribes when its last one leaves)."""
    prefix = settings.CHANNEL_LAYER_PREFIX
    if backend == CORE:
        return [client.zcard(f"{prefix}:group:{stream}") for stream in streams]
    channels = [f"{prefix}__group__{stream}" for stream in streams]
    return [count for _, count in client.pubsub_numsub(*channels)]


@pytest.mark.parametrize(
    "e2e_env_overrides",
    [{"CHANNEL_LAYER_BACKEND": CORE}, {"CHANNEL_LAYER_BACKEND": PUBSUB}],
    indirect=True,
    ids=["core", "pubsub"],
)
def test_hundreds_of_sockets_connecting_and_closing_together_never_500_nor_stay_in_groups(
    e2e_env, e2e_env_overrides, sockets_server
):
    tenant, owner, cookie = owner_on_a_new_tenant("crowd")
    netloc = f"{host_of(tenant)}:{sockets_server.port}"
    count = 300
    backend = e2e_env_overrides["CHANNEL_LAYER_BACKEND"]
    streams = [tenant_stream(tenant.schema_name), user_stream(tenant.schema_name, owner.pk)]

    async def one(opened: asyncio.Event, close_now: asyncio.Event) -> str:
        try:
            async with connect(netloc, sockets_server.port, cookie) as connection:
                first = json.loads(await asyncio.wait_for(connection.recv(), 30))
                opened.set()
                await close_now.wait()
                return first["type"]
        except websockets.InvalidStatus as refused:
            return f"http {refused.response.status_code}"
        except (OSError, TimeoutError, websockets.WebSocketException) as error:
            return repr(error)

    async def body():
        close_now = asyncio.Event()
        events = [asyncio.Event() for _ in range(count)]
        tasks = [asyncio.create_task(one(event, close_now)) for event in events]
        deadline = time.monotonic() + 60
        while not all(e.is_set() for e in events) and not any(t.done() for t in tasks):
            assert time.monotonic() < deadline, "sockets did not open"
            await asyncio.sleep(0.05)
        close_now.set()  # every socket closes at once
        return await asyncio.gather(*tasks)

    outcomes = asyncio.run(body())
    assert outcomes == ["snapshot"] * count, sorted(set(outcomes))
    client = redis.Redis.from_url(settings.REDIS_URL)
    try:
        # Each close's group_discard has run once the server is quiet (bounded wait).
        deadline = time.monotonic() + 20
        while (left := group_members(client, backend, streams)) != [0, 0] and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        client.close()
    assert left == [0, 0]
    log = sockets_server.log()
    assert "Too many connections" not in log
    assert " 500" not in log and "Exception in ASGI application" not in log


BURST = """
import sys
import django
django.setup()
from django_tenants.utils import schema_context
from notifications.services import notification_create_for_admins
tenant_id, schema, count = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
with schema_context(schema):
    for i in range(count):
        notification_create_for_admins(
            tenant_id=tenant_id, event_id=f"burst-{sys.argv[4]}-{i}", kind="member.joined", title=f"Burst {i}"
        )
"""


@pytest.mark.parametrize(
    "e2e_env_overrides",
    [{"CHANNEL_LAYER_CAPACITY": str(BURST_CAPACITY), "REALTIME_RESYNC_SECONDS": "2"}],
    indirect=True,
)
def test_a_burst_beyond_capacity_is_seen_as_a_gap_and_resynced_not_silently_dropped(e2e_env, sockets_server):
    tenant, _owner, cookie = owner_on_a_new_tenant("burst")
    netloc = f"{host_of(tenant)}:{sockets_server.port}"
    burst = 4 * BURST_CAPACITY

    def commit(count: int, run: str) -> None:
        run_django(e2e_env, BURST, str(tenant.pk), tenant.schema_name, str(count), run)

    async def body() -> tuple[list[LiveClient], list[list[int | None]]]:
        clients = [LiveClient(netloc, sockets_server.port, f"sessionid={cookie}") for _ in range(10)]
        tasks = [asyncio.create_task(client.run()) for client in clients]
        try:
            await until(lambda: all(c.snapshots for c in clients), timeout=20, message="first snapshots")
            # The server process busy (stopped): the burst piles up in its Redis list.
            signal_group(sockets_server.pid, signal.SIGSTOP)
            try:
                await asyncio.to_thread(commit, burst, "a")
            finally:
                signal_group(sockets_server.pid, signal.SIGCONT)
            await asyncio.sleep(0.5)
            await asyncio.to_thread(commit, 1, "b")  # one more, numbered after the lost ones
            await until(
                lambda: all(c.unread == burst + 1 and c.seq["user"] == burst + 1 for c in clients),
                timeout=15,
                message="every socket showing the database's count",
            )
            return clients, [list(c.closes) for c in clients]
        finally:
            for client in clients:
                await client.stop()
            await asyncio.gather(*tasks, return_exceptions=True)

    clients, closes = asyncio.run(body())

    with schema_context(tenant.schema_name):
        assert Notification.objects.filter(read_at__isnull=True).count() == burst + 1
    for client in clients:
        counts = [f for f in client.frames if f["type"] == "notifications.count"]
        resyncs = [s["reason"] for s in client.snapshots[1:]]
        assert len(counts) < burst + 1, "nothing was dropped: the test did not exceed the capacity"
        assert resyncs and set(resyncs) <= {"gap", "drift"}, resyncs
    assert closes == [[]] * len(clients)  # none was closed on the way

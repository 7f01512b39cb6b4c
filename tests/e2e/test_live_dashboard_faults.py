"""The live dashboard under faults, through the Procfile's `ws` role (uvicorn) on loopback.

- Redis restarted under connected clients (a redis-server of this test's own, without
  persistence: groups, queues and sequence counters are all lost). The clients behave as
  live.js does (tests/e2e/support/live_client.py). They must end up with a fresh snapshot,
  showing a member who joined while Redis was down (that broadcast failed), and then get a
  change committed after the restart: nothing stale stays on screen.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator

import pytest

from accounts.models import Membership, User
from accounts.services import membership_create
from devtools.processes import REPO_DIR
from invitations.services import invitation_create
from tenants.services import tenant_provision
from tests.conftest import host_of, on_plan
from tests.e2e.support.live_client import LiveClient, until
from tests.e2e.support.redis_server import RedisServer
from tests.realtime.conftest import session_cookie

pytestmark = pytest.mark.e2e

RESYNC_SECONDS = 2.0


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    yield server
    server.cleanup()


LAYERS = {
    "core": "channels_redis.core.RedisChannelLayer",
    "pubsub": "realtime.layers.PubSubChannelLayer",
}


@pytest.fixture(params=sorted(LAYERS))
def layer(request) -> str:
    return LAYERS[request.param]


@pytest.fixture
def e2e_env_overrides(own_redis, layer) -> dict[str, str | None]:
    # The servers' cache, sessions' cache, channel layer and counters on the test's own Redis
    # (Celery's broker stays where it is: nothing here needs a worker).
    return {
        "REDIS_URL": own_redis.url,
        "REALTIME_RESYNC_SECONDS": str(RESYNC_SECONDS),
        "CHANNEL_LAYER_BACKEND": layer,
    }


ACCEPT = """
import sys
import django
django.setup()
from accounts.models import User
from invitations.models import Invitation
from invitations.services import invitation_accept
invitation_accept(invitation=Invitation.objects.get(pk=sys.argv[1]), user=User.objects.get(pk=sys.argv[2]))
"""


def accept_in_another_process(env: dict[str, str], invitation, user) -> None:
    """Commit the real member.joined path (outbox -> receiver -> broadcast) in a process whose
    Redis is the servers' (as a page served by the web role would)."""
    completed = subprocess.run(
        [sys.executable, "-c", ACCEPT, str(invitation.pk), str(user.pk)],
        cwd=REPO_DIR, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr[-3000:]


def test_clients_recover_with_a_fresh_snapshot_when_redis_restarts_under_them(
    e2e_env, own_redis, sockets_server, layer
):
    slug = f"redis{uuid.uuid4().hex[:8]}"
    tenant = tenant_provision(name="Acme Restart", slug=slug)
    on_plan(tenant, "business")
    owner = User.objects.create_user("owner@example.com", None, full_name="Olive Owner")
    membership_create(user=owner, tenant=tenant, role="owner")
    member = User.objects.create_user("mia@example.com", None, full_name="Mia Member")
    membership_create(user=member, tenant=tenant, role="member")
    newcomers = {}
    for email, name in (("dora@example.com", "Dora During"), ("aldo@example.com", "Aldo After")):
        user = User.objects.create_user(email, None, full_name=name)
        newcomers[name] = (invitation_create(tenant=tenant, inviter=owner, email=email, role="member"), user)
    host = host_of(tenant)
    cookies = [session_cookie(owner, host)] * 4 + [session_cookie(member, host)] * 2
    netloc = f"{host}:{sockets_server.port}"

    async def body() -> tuple[list[LiveClient], float]:
        clients = [LiveClient(netloc, sockets_server.port, f"sessionid={cookie}") for cookie in cookies]
        tasks = [asyncio.create_task(client.run()) for client in clients]
        try:
            await until(lambda: all(c.snapshots for c in clients), timeout=20, message="first snapshots")
            assert all(c.member_names() == {"Olive Owner", "Mia Member"} for c in clients)

            await asyncio.to_thread(own_redis.stop)
            restarted_at = time.monotonic()
            # A change committed while Redis is down: the database has it, no message can say so.
            await asyncio.to_thread(accept_in_another_process, e2e_env, *newcomers["Dora During"])
            await asyncio.sleep(1.0)
            await asyncio.to_thread(own_redis.start)

            def shows_dora(snapshot: dict) -> bool:
                return "Dora During" in {m["name"] for m in snapshot["members"]}

            await until(
                lambda: all(any(map(shows_dora, c.snapshots_since(restarted_at))) for c in clients),
                timeout=4 * RESYNC_SECONDS + 15,
                message="fresh snapshots after the restart",
            )
            # Every client is connected again (and joined its groups) before the next change.
            await until(lambda: all(c.connected.is_set() for c in clients), timeout=10, message="reconnected")
            await asyncio.to_thread(accept_in_another_process, e2e_env, *newcomers["Aldo After"])
            await until(
                lambda: all("Aldo After" in c.member_names() for c in clients),
                timeout=2 * RESYNC_SECONDS + 10,
                message="the change after the restart",
            )
            await asyncio.sleep(RESYNC_SECONDS + 0.5)  # time for anything late or stale to show
            return clients, restarted_at
        finally:
            for client in clients:
                await client.stop()
            await asyncio.gather(*tasks, return_exceptions=True)

    clients, restarted_at = asyncio.run(body())
    in_database = {
        m.user.get_full_name() for m in Membership.objects.filter(tenant=tenant).select_related("user")
    }
    assert in_database == {"Olive Owner", "Mia Member", "Dora During", "Aldo After"}
    for client in clients:
        assert client.member_names() == in_database, (client.snapshots[-1], client.frames[-5:])

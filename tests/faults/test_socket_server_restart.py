"""The socket server (the Procfile's ws role) restarted under connected dashboards (issue 17,
part 5): every client, behaving as live.js does, reconnects with backoff, gets a fresh
snapshot, and hears the next change. Redis restarted under them is
tests/e2e/test_live_dashboard_faults.py.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from asgiref.sync import sync_to_async
from django_tenants.utils import schema_context

from notifications.services import notification_create_for_admins
from tests.e2e.support.live_client import LiveClient, until
from tests.realtime.conftest import session_cookie
from tests.security.isolation import make_org

pytestmark = pytest.mark.e2e

CLIENTS = 4


def tell_admins(org, event_id: str) -> None:
    with schema_context(org.tenant.schema_name):
        notification_create_for_admins(tenant_id=org.tenant.pk, event_id=event_id, kind="test", title="after")


def test_clients_reconnect_and_hear_changes_after_the_socket_server_restarts(e2e_env, sockets_server):
    org = make_org(objects_per_kind=1)
    cookie = f"sessionid={session_cookie(org.owner, org.host)}"
    netloc = f"{org.host}:{e2e_env['E2E_WEB_PORT']}"

    async def body() -> tuple[list[LiveClient], float]:
        clients = [LiveClient(netloc=netloc, port=sockets_server.port, cookie=cookie) for _ in range(CLIENTS)]
        tasks = [asyncio.create_task(client.run()) for client in clients]
        await until(lambda: all(c.snapshots for c in clients), timeout=20, message="every first snapshot")
        before = clients[0].unread
        await sync_to_async(sockets_server.stop)()
        restarted = time.monotonic()
        await sync_to_async(sockets_server.start)()
        await until(
            lambda: all(c.snapshots_since(restarted) for c in clients),
            timeout=30,
            message="a snapshot after restart",
        )
        await sync_to_async(tell_admins)(org, "after-restart")
        assert before is not None
        await until(
            lambda: all(c.unread == before + 1 for c in clients), timeout=15, message="the next change"
        )
        for client in clients:
            await client.stop()
        await asyncio.gather(*tasks)
        return clients, time.monotonic() - restarted

    clients, took = asyncio.run(body())
    for client in clients:
        assert len(client.closes) + len(client.connect_failures) >= 1  # it really lost the socket
        assert not any(code in (4401, 4403, 4404) for code in client.closes)
    reconnects = sum(len(c.snapshots) - 1 for c in clients)
    print(f"\nsocket server restart: {CLIENTS} clients, {reconnects} reconnects, current in {took:.1f} s")

"""saas.broadcast from sync code: one long-lived loop per process, its Redis connections kept."""

from __future__ import annotations

import os

import redis

from saas.broadcast import broadcast_now, tenant_stream
from tests.factories import UserFactory
from tests.realtime.conftest import receive_type, run, sync


def _connections_received(server) -> int:
    client = redis.Redis.from_url(server.url)
    try:
        return int(client.info("stats")["total_connections_received"])
    finally:
        client.close()


def test_broadcasts_from_sync_code_reuse_the_layers_connections(make_tenant, layer_on_own_redis):
    stream = tenant_stream(make_tenant().schema_name)
    assert broadcast_now(stream, {"type": "plan.changed", "plan": {}}) is not None  # warm
    before = _connections_received(layer_on_own_redis)

    sent = [broadcast_now(stream, {"type": "plan.changed", "plan": {"n": n}}) for n in range(30)]

    assert None not in sent
    # async_to_sync ran a new loop per call, and channels-redis opened a connection per loop.
    assert _connections_received(layer_on_own_redis) - before <= 1  # this test's own INFO client


def test_a_forked_child_sends_through_a_loop_of_its_own(make_tenant, member_of, dashboard_socket):
    tenant = make_tenant()
    owner = member_of(tenant, UserFactory(), role="owner")
    stream = tenant_stream(tenant.schema_name)
    broadcast_now(stream, {"type": "plan.changed", "plan": {"name": "parent"}})  # the parent's loop runs

    def fork_and_send() -> int:
        pid = os.fork()
        if pid == 0:  # the child: its parent's loop thread did not survive the fork
            seq = broadcast_now(stream, {"type": "plan.changed", "plan": {"name": "child"}})
            os._exit(0 if seq is not None else 1)
        return os.waitpid(pid, 0)[1]

    async def body():
        communicator, _snapshot = await dashboard_socket(tenant, owner)
        status = await sync(fork_and_send)
        frame = await receive_type(communicator, "plan.changed", timeout=5)
        await communicator.disconnect()
        return status, frame

    status, frame = run(body)
    assert status == 0
    assert frame["plan"]["name"] == "child"

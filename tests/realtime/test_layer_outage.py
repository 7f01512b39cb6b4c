"""The channel layer's Redis going away: one structured warning line, never a traceback per socket."""

from __future__ import annotations

import asyncio
import logging

from channels.layers import channel_layers

from realtime.consumers import CLOSE_LAYER_UNAVAILABLE
from realtime.layers import PubSubChannelLayer
from saas.broadcast import broadcast_now, tenant_stream
from tests.conftest import host_of
from tests.factories import UserFactory
from tests.realtime.conftest import closed_with, receive_type, run, session_cookie, socket, sync


def _outage_records(caplog) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.levelno >= logging.WARNING]


def test_an_open_socket_is_closed_with_one_warning_line_when_the_layers_redis_goes_away(
    make_tenant, member_of, dashboard_socket, layer_on_own_redis, caplog
):
    tenant = make_tenant()
    owner = member_of(tenant, UserFactory(email="owner@example.com"), role="owner")

    async def body():
        communicator, snapshot = await dashboard_socket(tenant, owner)
        assert snapshot["reason"] == "connect"
        layer_on_own_redis.stop()
        code = await closed_with(communicator, timeout=10)
        await communicator.wait()
        return code

    with caplog.at_level(logging.WARNING):
        code = run(body)

    assert code == CLOSE_LAYER_UNAVAILABLE  # "try again later": the page reconnects with backoff
    records = _outage_records(caplog)
    assert len(records) == 1, [record.getMessage() for record in records]
    (record,) = records
    assert record.exc_info is None and "Traceback" not in caplog.text
    event = record.msg if isinstance(record.msg, dict) else {"event": record.getMessage()}
    assert "channel layer unavailable" in str(event)
    assert "ConnectionError" in str(event)


def test_a_broadcast_while_the_layers_redis_is_away_logs_one_line_and_does_not_raise(
    make_tenant, layer_on_own_redis, caplog
):
    tenant = make_tenant()
    layer_on_own_redis.stop()

    with caplog.at_level(logging.WARNING):
        seq = broadcast_now(tenant_stream(tenant.schema_name), {"type": "plan.changed", "plan": {}})

    assert seq is None
    records = _outage_records(caplog)
    assert len(records) == 1, [record.getMessage() for record in records]
    assert records[0].exc_info is None and "Traceback" not in caplog.text
    assert "broadcast failed" in str(records[0].msg)


def test_the_pub_sub_layer_refuses_handshakes_cleanly_while_away_and_serves_again_once_back(
    make_tenant, member_of, dashboard_socket, layer_on_own_redis, caplog
):
    """realtime.layers: a handshake during the outage is refused without leaving its channel
    behind, closing sockets log no traceback, and once Redis is back a new socket hears the
    next change (redis-py re-subscribes what the process still holds)."""
    tenant = make_tenant()
    owner = member_of(tenant, UserFactory(email="owner@example.com"), role="owner")
    layer = channel_layers["default"]
    assert isinstance(layer, PubSubChannelLayer)

    async def body():
        first, _ = await dashboard_socket(tenant, owner)
        layer_on_own_redis.stop()
        assert await closed_with(first, timeout=10) == CLOSE_LAYER_UNAVAILABLE
        await first.disconnect()  # what the server sends once the close handshake is done

        host = await sync(host_of, tenant)
        refused = socket(host, cookie=await sync(session_cookie, owner, host))
        connected, _ = await refused.connect(timeout=10)
        assert not connected
        loop_layer = layer._get_layer()
        assert loop_layer.channels == {} and loop_layer.groups == {}

        await asyncio.to_thread(layer_on_own_redis.start)
        second, snapshot = await dashboard_socket(tenant, owner)
        assert snapshot["reason"] == "connect"
        message = {"type": "plan.changed", "plan": {}}
        seq = await sync(broadcast_now, tenant_stream(tenant.schema_name), message)
        assert seq is not None
        frame = await receive_type(second, "plan.changed", timeout=10)
        assert frame["seq"] == seq
        await second.disconnect()

    with caplog.at_level(logging.INFO):
        run(body)

    assert "Traceback" not in caplog.text
    assert not [record for record in caplog.records if record.exc_info], caplog.text

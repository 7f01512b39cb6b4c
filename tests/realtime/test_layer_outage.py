"""The channel layer's Redis going away: one structured warning line, never a traceback per socket."""

from __future__ import annotations

import logging

from realtime.consumers import CLOSE_LAYER_UNAVAILABLE
from saas.broadcast import broadcast_now, tenant_stream
from tests.factories import UserFactory
from tests.realtime.conftest import closed_with, run


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

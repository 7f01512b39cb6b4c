"""The trace context of a change travels with it: onto the outbox row written in its
transaction, and into the live messages it pushes to sockets. Without an SDK (tracing off)
nothing is written. A span context is made current with the OpenTelemetry API alone (no
provider is installed in the test process)."""

import asyncio
import threading

import pytest
from channels.layers import get_channel_layer
from django.db import transaction
from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

from saas.broadcast import broadcast_on_commit, tenant_stream
from saas.models import OutboxEvent
from saas.signals import UserSignedUp, user_signed_up
from saas.telemetry import context_from, current_trace_context

pytestmark = pytest.mark.django_db(transaction=True)

TRACE_ID, SPAN_ID = 0x4BF92F3577B34DA6A3CE929D0E0E4736, 0x00F067AA0BA902B7
TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def the_change_span() -> NonRecordingSpan:
    return NonRecordingSpan(SpanContext(TRACE_ID, SPAN_ID, is_remote=False, trace_flags=TraceFlags(1)))


def test_a_published_event_keeps_the_trace_context_of_its_transaction():
    with trace.use_span(the_change_span()), transaction.atomic():
        event = user_signed_up.publish(UserSignedUp(user_id=1, tenant_id=1), tenant_schema="public")
    row = OutboxEvent.objects.get(id=event.id)
    assert row.traceparent == TRACEPARENT
    # What the relay restores from the row names the same span as the dispatch's parent.
    restored = trace.get_current_span(context_from({"traceparent": row.traceparent})).get_span_context()
    assert (restored.trace_id, restored.span_id, restored.is_remote) == (TRACE_ID, SPAN_ID, True)


def test_without_a_span_the_row_has_no_trace_context():
    assert current_trace_context() == {}
    with transaction.atomic():
        event = user_signed_up.publish(UserSignedUp(user_id=1, tenant_id=1), tenant_schema="public")
    assert OutboxEvent.objects.get(id=event.id).traceparent == ""


def test_a_live_message_carries_the_trace_context_of_the_change_not_of_the_commit():
    layer = get_channel_layer()
    stream = tenant_stream("t_tracecontext")
    joined = threading.Event()
    received: list[dict] = []

    async def listen() -> None:
        # One loop for the whole subscription, as a socket server's: the pub/sub layer keeps
        # channels and groups per event loop.
        channel = await layer.new_channel()
        await layer.group_add(stream, channel)
        joined.set()
        try:
            received.append(await asyncio.wait_for(layer.receive(channel), timeout=10))
        finally:
            await layer.group_discard(stream, channel)

    listener = threading.Thread(target=asyncio.run, args=(listen(),))
    listener.start()
    assert joined.wait(timeout=10)
    with transaction.atomic(), trace.use_span(the_change_span()):
        broadcast_on_commit(stream, {"type": "plan.changed", "plan": {}})
        # The commit (and the send) happens outside the change's span.
    listener.join(timeout=15)
    (message,) = received
    assert message["message"] == {"type": "plan.changed", "plan": {}}
    assert message["traceparent"] == TRACEPARENT

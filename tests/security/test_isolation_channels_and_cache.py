"""Sockets, channel groups and cache entries of one organization are out of another's reach.

Who may open a socket at all (anonymous, non-member, copied session, unknown host) is
tests/realtime/test_dashboard_socket.py; here A's signed-in owner holds a live socket on A's
host while everything of B's is broadcast, and the cache is written under both schemas.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from channels.layers import channel_layers
from django.conf import settings
from django.core.cache import cache
from django_tenants.utils import schema_context

from realtime.messages import NOTIFICATIONS_COUNT, PLAN_CHANGED
from saas.broadcast import broadcast_now, tenant_stream, user_stream
from tests.realtime.conftest import closed_with, receive, run, session_cookie, socket
from tests.security.isolation import Org, make_world


@pytest.fixture
def world(transactional_db, drop_new_tenant_schemas) -> Iterator[tuple[Org, Org]]:
    channel_layers.backends.clear()  # a layer made on an earlier test's loop holds its pools
    yield make_world()
    channel_layers.backends.clear()


def test_as_socket_never_hears_bs_streams_and_cannot_name_them(world):
    a, b = world
    a_cookie = session_cookie(a.owner, a.host)
    b_schema = b.tenant.schema_name
    b_streams = [
        tenant_stream(b_schema),
        user_stream(b_schema, b.owner.pk),
        user_stream(b_schema, a.owner.pk),
    ]

    async def body() -> tuple[list[dict[str, Any]], list[Any], int]:
        communicator = socket(a.host, cookie=a_cookie)
        connected, _ = await communicator.connect(timeout=5)
        assert connected
        snapshot = await receive(communicator)
        assert snapshot["type"] == "snapshot" and b.marker not in json.dumps(snapshot).lower()
        answers = []
        # The protocol has no way to name a stream: a frame asking for B's is refused.
        for frame in (
            {"type": "subscribe", "stream": b_streams[0]},
            {"type": "join", "group": b_streams[0]},
            {"type": "resync", "stream": b_streams[0], "tenant": b_schema},
        ):
            await communicator.send_to(text_data=json.dumps(frame))
            answers.append((await receive(communicator))["type"])
        for stream in b_streams:  # everything of B's, including A's owner id within B's schema
            await asyncio.to_thread(broadcast_now, stream, {"type": PLAN_CHANGED, "plan": b.marker})
            await asyncio.to_thread(broadcast_now, stream, {"type": NOTIFICATIONS_COUNT, "unread": 99})
        # Control: A's own stream does reach the socket, after B's messages were sent.
        await asyncio.to_thread(
            broadcast_now, tenant_stream(a.tenant.schema_name), {"type": PLAN_CHANGED, "plan": "a"}
        )
        heard = []
        while True:
            frame = await receive(communicator, timeout=5)
            heard.append(frame)
            if frame.get("type") == PLAN_CHANGED and frame.get("plan") == "a":
                break
        await communicator.disconnect()
        return heard, answers, len(b_streams) * 2

    heard, answers, sent = run(body)
    assert answers == ["error", "error", "snapshot"]  # the resync is A's own snapshot
    assert [frame for frame in heard if frame.get("plan") == b.marker or frame.get("unread") == 99] == []
    assert all(frame.get("stream") in (None, "tenant", "user") for frame in heard)
    print(f"\nisolation: {sent} messages on B's streams, 0 reached A's socket")


def test_a_session_of_a_on_bs_socket_is_closed(world):
    a, b = world

    cookies = (session_cookie(a.owner, a.host), session_cookie(a.owner, b.host))

    async def body() -> list[int]:
        codes = []
        for cookie in cookies:
            communicator = socket(b.host, cookie=cookie)
            await communicator.connect(timeout=5)
            codes.append(await closed_with(communicator))
            await communicator.disconnect()
        return codes

    assert run(body) == [4401, 4403]  # replayed: not signed in there; issued there: not a member


def test_cache_entries_of_a_are_unreachable_from_b(world):
    a, b = world
    keys = ["plan", "members", "dashboard:1", f"user:{a.owner.pk}"]
    with schema_context(a.tenant.schema_name):
        cache.set_many({key: f"{a.marker} {key}" for key in keys}, 60)
        assert cache.get_many(keys) == {key: f"{a.marker} {key}" for key in keys}
    with schema_context(b.tenant.schema_name):
        assert cache.get_many(keys) == {}
        cache.set("plan", f"{b.marker} plan", 60)
        cache.delete_many(keys[1:])  # B deleting "the same" keys touches only its own
    with schema_context(a.tenant.schema_name):
        assert cache.get_many(keys) == {key: f"{a.marker} {key}" for key in keys}
    cache.set("plan", "public plan", 60)  # and the public schema is a third space
    with schema_context(b.tenant.schema_name):
        assert cache.get("plan") == f"{b.marker} plan"
    # In Redis itself each key carries its schema.
    client = redis.Redis.from_url(settings.REDIS_URL)
    prefix = settings.CACHES["default"]["KEY_PREFIX"]
    stored = [key.decode() for key in client.scan_iter(f"*:{prefix}:*:plan", count=1000)]
    client.close()
    schemas = {key.split(":", 1)[0] for key in stored}
    assert {a.tenant.schema_name, b.tenant.schema_name, "public"} <= schemas, stored
    with schema_context(a.tenant.schema_name):
        cache.delete_many(keys)
    with schema_context(b.tenant.schema_name):
        cache.delete("plan")
    cache.delete("plan")

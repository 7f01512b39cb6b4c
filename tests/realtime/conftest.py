"""Sockets through the real ASGI stack (config.asgi), the real Redis channel layer, real schemas.

Consumers read on worker threads, which see only committed rows: these tests use
transactional_db (and drop the schemas they make).
"""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest
import redis
from channels.layers import channel_layers
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.conf import settings as django_settings
from django.test import Client

from accounts.middleware import HOST_KEY
from config.asgi import application
from tests.conftest import host_of
from tests.e2e.support.redis_server import RedisServer

T = TypeVar("T")


def run(coroutine_function: Callable[[], Awaitable[T]]) -> T:
    """Run one test's async body on a fresh loop (bounded by the test's own timeouts)."""
    return asyncio.run(coroutine_function())  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def _clean_layer(transactional_db, drop_new_tenant_schemas):
    """The channel layer's and the counters' keys of this Redis database start empty."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    prefix = settings.CHANNEL_LAYER_PREFIX
    for key in client.scan_iter(f"{prefix}*", count=500):
        client.delete(key)
    channel_layers.backends.clear()  # a layer made on an earlier test's loop holds its pools
    yield
    channel_layers.backends.clear()
    client.close()


@pytest.fixture
def layer_on_own_redis(settings):
    """The channel layer (only) on a redis-server of this test's own, to stop under a socket."""
    server = RedisServer()
    server.start()
    layers = copy.deepcopy(django_settings.CHANNEL_LAYERS)
    layers["default"]["CONFIG"]["hosts"][0]["address"] = server.url
    settings.CHANNEL_LAYERS = layers
    channel_layers.backends.clear()
    yield server
    channel_layers.backends.clear()
    server.cleanup()


def session_cookie(user, host: str, *, bound_to: str | None = None) -> str:
    """A real session for `user` (saved in the session store), bound to `bound_to` or `host`."""
    client = Client(HTTP_HOST=host)
    client.force_login(user)
    session = client.session
    session[HOST_KEY] = bound_to or host
    session.save()
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def socket(host: str, *, cookie: str | None = None, origin: str | None = "same") -> WebsocketCommunicator:
    headers = [(b"host", f"{host}:8000".encode())]
    if origin == "same":
        origin = f"http://{host}:8000"
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    if cookie:
        headers.append((b"cookie", f"{settings.SESSION_COOKIE_NAME}={cookie}".encode()))
    return WebsocketCommunicator(application, "/ws/dashboard/", headers=headers)


async def receive(communicator: WebsocketCommunicator, timeout: float = 5.0) -> dict[str, Any]:
    return json.loads(await communicator.receive_from(timeout=timeout))


async def receive_type(
    communicator: WebsocketCommunicator, kind: str, timeout: float = 5.0
) -> dict[str, Any]:
    """The next frame of `kind`, skipping others (bounded)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        frame = await receive(communicator, timeout=max(0.05, deadline - loop.time()))
        if frame["type"] == kind:
            return frame


async def closed_with(communicator: WebsocketCommunicator, timeout: float = 5.0) -> int:
    """The close code after an accept (the stack accepts only to close with a reason)."""
    output = await communicator.receive_output(timeout=timeout)
    while output["type"] == "websocket.accept":
        output = await communicator.receive_output(timeout=timeout)
    assert output["type"] == "websocket.close", output
    return output.get("code", 1000)


@pytest.fixture
def dashboard_socket():
    """Open a signed-in member's socket and return it with its snapshot."""

    async def open_socket(tenant, user) -> tuple[WebsocketCommunicator, dict[str, Any]]:
        host = await _sync(host_of, tenant)
        cookie = await _sync(session_cookie, user, host)
        communicator = socket(host, cookie=cookie)
        connected, _ = await communicator.connect(timeout=5)
        assert connected
        snapshot = await receive(communicator)
        assert snapshot["type"] == "snapshot", snapshot
        return communicator, snapshot

    return open_socket


async def _sync(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    from asgiref.sync import sync_to_async

    return await sync_to_async(function)(*args, **kwargs)


sync = _sync

"""Live-update messages, sent on commit through the channel layer: the one way to push to sockets.

    broadcast_on_commit(tenant_stream(schema), {"type": "plan.changed", "plan": "pro"})

The database stays the source of truth; a message is a hint that lets an open page update
without a reload. Each stream (a tenant's, or one member's within a tenant) numbers its
messages with a Redis counter (INCR), taken after commit, so a socket that sees a number
jump, or a counter that moved without it, knows it missed something and re-reads the
snapshot. The kernel knows only the channel layer and the stream names; the consumer that
turns streams into sockets lives in `realtime/`.

Counters live in Redis, and a Redis that restarts without its data (or fails over to an
empty replica) starts them again at 0: numbers seen before would be taken for old ones, and
a socket that had seen none would not notice anything was missed. So the counters belong
to an epoch, a random token stored beside them and created by whoever finds it missing;
every message and every reading carries it, and a socket that sees the epoch change re-reads
the snapshot whatever the numbers say.

A stream name is also its channel-layer group name (schema names carry only [a-z0-9_]).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import os
import threading
import uuid
from collections import defaultdict
from collections.abc import Coroutine, Iterable
from typing import Any

import redis
import structlog
from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.conf import settings
from django.db import transaction

from saas.telemetry import current_trace_context

logger = structlog.get_logger(__name__)

# What a consumer's handler is called for a broadcast (channels maps "realtime.message" to
# the method `realtime_message`).
MESSAGE_EVENT = "realtime.message"
SEQUENCE_KEY = "{prefix}:seq:{stream}"
EPOCH_KEY = "{prefix}:seq:epoch"
# Without Redis the counters live as long as this process (the in-memory layer's sockets too).
LOCAL_EPOCH = uuid.uuid4().hex


def tenant_stream(schema_name: str) -> str:
    """Everyone on a tenant's dashboard."""
    return f"tenant.{schema_name}"


def user_stream(schema_name: str, user_id: int) -> str:
    """One member's sockets on one tenant's host (their counts, their removal)."""
    return f"tenant.{schema_name}.user.{user_id}"


class _Sequences:
    """Per-stream counters: Redis INCR when Redis is configured, else in this process."""

    def __init__(self) -> None:
        self._client: redis.Redis | None = None
        self._lock = threading.Lock()
        self._local: defaultdict[str, itertools.count[int]] = defaultdict(lambda: itertools.count(1))
        self._local_last: dict[str, int] = {}

    def _redis(self) -> redis.Redis:
        with self._lock:
            if self._client is None:
                self._client = redis.Redis.from_url(
                    settings.REDIS_URL,
                    socket_connect_timeout=settings.CACHES["default"]["OPTIONS"]["socket_connect_timeout"],
                    socket_timeout=settings.CACHES["default"]["OPTIONS"]["socket_timeout"],
                )
            return self._client

    @staticmethod
    def _key(stream: str) -> str:
        return SEQUENCE_KEY.format(prefix=settings.CHANNEL_LAYER_PREFIX, stream=stream)

    def _with_epoch(self, *commands: tuple[str, Any]) -> list[Any]:
        """One MULTI/EXEC: make sure the epoch exists, read it, then run `commands`."""
        epoch_key = EPOCH_KEY.format(prefix=settings.CHANNEL_LAYER_PREFIX)
        pipe = self._redis().pipeline(transaction=True)
        pipe.set(epoch_key, uuid.uuid4().hex, nx=True)
        pipe.get(epoch_key)
        for name, argument in commands:
            getattr(pipe, name)(argument)
        _created, epoch, *results = pipe.execute()
        return [epoch.decode(), *results]

    def next(self, stream: str) -> tuple[str, int]:
        """(epoch, the stream's next number)."""
        if not settings.REDIS_URL:
            with self._lock:
                value = next(self._local[stream])
                self._local_last[stream] = value
                return LOCAL_EPOCH, value
        epoch, value = self._with_epoch(("incr", self._key(stream)))
        return epoch, int(value)

    def current(self, streams: Iterable[str]) -> tuple[str, dict[str, int]]:
        """(epoch, each stream's last number)."""
        streams = list(streams)
        if not settings.REDIS_URL:
            with self._lock:
                return LOCAL_EPOCH, {stream: self._local_last.get(stream, 0) for stream in streams}
        epoch, values = self._with_epoch(("mget", [self._key(stream) for stream in streams]))
        return epoch, {stream: int(value or 0) for stream, value in zip(streams, values, strict=True)}


sequences = _Sequences()


class _SenderLoop:
    """One event loop, on a thread of its own, for this process's sends to a Redis layer.

    `async_to_sync(layer.group_send)` called from sync code (a gunicorn worker, a Celery task,
    a service run in a socket server's thread pool) runs a new event loop per call, and
    channels-redis keeps its connections per event loop: every message paid a new Redis
    connection, opened and closed, about 5 ms on loopback. Here the loop, and so the layer's
    connections, live as long as the process. A fork (Celery's prefork, gunicorn) does not
    copy the thread: the child starts its own on first use.

    Only for the Redis layers: the in-memory layer's queues belong to the loop its consumers
    run on, which async_to_sync finds (tests, development without Redis).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        os.register_at_fork(after_in_child=self._forget)

    def _forget(self) -> None:
        self._lock = threading.Lock()
        self._loop = None

    def _running(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, name="broadcast-loop", daemon=True).start()
                self._loop = loop
            return self._loop

    def run(self, coroutine: Coroutine[Any, Any, Any], timeout: float) -> Any:
        future = asyncio.run_coroutine_threadsafe(coroutine, self._running())
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise TimeoutError(f"channel layer send took over {timeout} s") from None


_sender = _SenderLoop()


def _group_send(layer: Any, stream: str, event: dict[str, Any]) -> None:
    if isinstance(layer, InMemoryChannelLayer):
        async_to_sync(layer.group_send)(stream, event)
    else:
        _sender.run(layer.group_send(stream, event), timeout=settings.BROADCAST_TIMEOUT_SECONDS)


def sequence_current(streams: Iterable[str]) -> tuple[str, dict[str, int]]:
    """The counters' epoch and the last number given out on each stream (0: none yet)."""
    return sequences.current(streams)


def broadcast_now(
    stream: str, message: dict[str, Any], *, trace_context: dict[str, str] | None = None
) -> int | None:
    """Number and send one message now; its sequence number, or None if it could not be sent.

    The layer message carries the W3C trace context of the change (`trace_context`, or the
    current span's), so the socket's push continues that trace.

    Failing here must not fail the caller: the change is committed, and a socket that misses
    the message finds the gap when the counter moves on (or at its next resync).
    """
    try:
        epoch, seq = sequences.next(stream)
        layer = get_channel_layer()
        if layer is None:
            return None
        event = {"type": MESSAGE_EVENT, "stream": stream, "epoch": epoch, "seq": seq, "message": message}
        event.update(current_trace_context() if trace_context is None else trace_context)
        _group_send(layer, stream, event)
    except (redis.RedisError, OSError) as error:
        # Redis away is expected operation (sockets resync when it is back): one line, no traceback.
        logger.warning(
            "broadcast failed",
            stream=stream,
            message_type=message.get("type"),
            error=f"{type(error).__name__}: {error}",
        )
        return None
    except Exception:
        logger.warning("broadcast failed", stream=stream, message_type=message.get("type"), exc_info=True)
        return None
    return seq


def broadcast_on_commit(stream: str, message: dict[str, Any]) -> None:
    """Send `message` (`{"type": ..., ...}`, JSON values) to `stream` once the transaction commits.

    Outside a transaction it is sent at once; after a rollback it is never sent.
    """
    if "type" not in message:
        raise ValueError("a live message needs a type")
    payload = dict(message)
    # The span of the change, not whatever is current when the commit hooks run.
    trace_context = current_trace_context()
    transaction.on_commit(lambda: broadcast_now(stream, payload, trace_context=trace_context), robust=True)

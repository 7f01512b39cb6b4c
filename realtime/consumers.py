"""`/ws/dashboard/`: a member's live view of their organization (message shapes: realtime.messages).

The socket middleware (realtime/middleware.py) has resolved the tenant and checked membership
before this runs. On connect the consumer joins its two streams (the tenant's and this
member's), then reads the snapshot: joining first means nothing committed after the read can
be missed, and a message that the snapshot already contains is harmless (clients apply
messages by id).

Sequence numbers make loss visible instead of silent. Each stream's last number is known
from the snapshot; a message whose number skips ahead (the channel layer dropped one over
capacity, or it expired) is answered with a fresh snapshot instead. Every
REALTIME_RESYNC_SECONDS the consumer also re-joins its groups (a restarted Redis forgot them)
and compares the streams' counters with what it has seen: a number given out before the
previous check that has still not arrived (the last one of a burst lost) gets a fresh
snapshot. Counters restart at 0
when Redis loses its data, so the numbers alone cannot tell; they belong to an epoch
(saas.broadcast), and a message or a check that shows another epoch than the snapshot's
gets a fresh snapshot too ("restart"). Slow clients cost only themselves: each socket has
its own queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import OrderedDict
from typing import Any

import redis
import structlog
from asgiref.sync import sync_to_async
from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from realtime.db import in_schema
from realtime.messages import SERVER_MESSAGE_TYPES, SESSION_CLOSED
from realtime.middleware import CLOSE_NOT_A_MEMBER
from realtime.selectors import member_part, tenant_view
from saas.broadcast import sequence_current, tenant_stream, user_stream
from saas.observability import REQUEST_ID_HEADER, bind_request_context, request_id_from
from saas.telemetry import span_in

logger = structlog.get_logger(__name__)

# A tenant's part of a snapshot (members, plan) read once for every socket of this process
# that asks at the same tenant counter (see SharedTenantReads); kept this long after.
SHARED_READ_SECONDS = 0.5


class SharedTenantReads:
    """Sockets of one tenant re-reading together (a Redis restart, a lost message, a server
    restart's reconnects) share one read of the tenant's part, in this process.

    Keyed by (event loop, schema, epoch, the tenant stream's counter read before): a change
    whose number was given out before that counter read makes the counter differ; one given
    out after it reaches every such socket as a message (they joined their groups first).
    Only the member's own part (the unread count) is read per socket.
    """

    def __init__(self) -> None:
        self._reads: dict[tuple[int, str, str, int], tuple[float, asyncio.Future[dict[str, Any]]]] = {}

    async def get(self, tenant: Any, epoch: str, seq: int) -> dict[str, Any]:
        now = time.monotonic()
        key = (id(asyncio.get_running_loop()), tenant.schema_name, epoch, seq)
        entry = self._reads.get(key)
        if entry is None or (entry[1].done() and now - entry[0] > SHARED_READ_SECONDS):
            future = asyncio.ensure_future(in_schema(tenant.schema_name, tenant_view, tenant=tenant))
            self._reads = {
                k: v for k, v in self._reads.items() if not v[1].done() or now - v[0] <= SHARED_READ_SECONDS
            }
            self._reads[key] = entry = (now, future)
        try:
            return await asyncio.shield(entry[1])
        except Exception:
            self._reads.pop(key, None)  # a failed read is not shared with the next asker
            raise


shared_tenant_reads = SharedTenantReads()


class EncodedFrames:
    """A layer message's frame, encoded once per process instead of once per socket.

    The frame of a stream's message is the same for every socket on that stream (the stream's
    short name, the number, the message), so (stream, epoch, number) names it; a group of 250
    sockets in a process spent 4% of its CPU encoding the same JSON 250 times. Bounded: the
    oldest frames go first.
    """

    SIZE = 256

    def __init__(self) -> None:
        self._frames: OrderedDict[tuple[str, str, int], str] = OrderedDict()

    def get(self, event: dict[str, Any], short: str, message: dict[str, Any]) -> str:
        key = (event["stream"], event["epoch"], int(event["seq"]))
        frame = self._frames.get(key)
        if frame is None:
            frame = encode({**message, "stream": short, "seq": key[2]})
            self._frames[key] = frame
            if len(self._frames) > self.SIZE:
                self._frames.popitem(last=False)
        return frame


encoded_frames = EncodedFrames()


def encode(content: dict[str, Any]) -> str:
    return json.dumps(content, separators=(",", ":"))


# A client may ask for a snapshot at most this often (each costs three queries).
RESYNC_MIN_INTERVAL_SECONDS = 1.0


# Close code when the channel layer's Redis is unreachable: "try again later"; the page
# reconnects with backoff and gets a fresh snapshot once Redis is back.
CLOSE_LAYER_UNAVAILABLE = 1013


class DashboardConsumer(AsyncWebsocketConsumer):
    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        # channels' dispatch loop awaits the layer's receive beside the socket's; with Redis
        # away that raises (redis ConnectionError) out of the consumer, which the ASGI server
        # logs as a traceback per socket. An outage is expected operation: one warning line
        # per socket, the socket closed so the client reconnects, the group entries expiring.
        try:
            await super().__call__(scope, receive, send)
        except (redis.RedisError, OSError) as error:
            logger.warning(
                "realtime: channel layer unavailable, closing the socket",
                error=f"{type(error).__name__}: {error}",
                tenant=getattr(scope.get("tenant"), "schema_name", None),
            )
            watcher = getattr(self, "watcher", None)
            if watcher is not None:
                watcher.cancel()
            with contextlib.suppress(Exception):  # the client may be gone already
                await send({"type": "websocket.close", "code": CLOSE_LAYER_UNAVAILABLE})

    async def dispatch(self, message: dict[str, Any]) -> None:
        # channels (4.2+) awaits `aclose_old_connections()` before every handler: a hop to its
        # single thread-sensitive thread, per socket and per message. One message to 500
        # sockets queued 500 hops behind one thread (bench/realtime.py: p50 seconds while the
        # servers' CPU idled). Every database call here goes through realtime.db.in_schema,
        # which closes old connections itself on its own pool thread, so the hop does nothing.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def connect(self) -> None:
        self.tenant = self.scope["tenant"]
        self.user = self.scope["user"]
        schema = self.tenant.schema_name
        # Every line this socket's handling logs carries its tenant, user and an id of its own.
        headers = {name.decode("latin-1").lower(): value for name, value in self.scope.get("headers", [])}
        incoming = headers.get(REQUEST_ID_HEADER.lower(), b"").decode("latin-1")
        bind_request_context(tenant_id=schema, user_id=self.user.pk, request_id=request_id_from(incoming))
        # Short names in frames; full stream (group) names for the layer.
        self.streams = {"tenant": tenant_stream(schema), "user": user_stream(schema, self.user.pk)}
        self.last_seq: dict[str, int] = {}
        self.epoch = ""
        self.last_resync_request = 0.0
        self.closing = False
        await self._join()
        await self.accept()
        await self.send_snapshot("connect")
        self.watcher = asyncio.create_task(self._watch())

    async def disconnect(self, code: int) -> None:
        watcher = getattr(self, "watcher", None)
        if watcher is not None:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await watcher
        for group in getattr(self, "streams", {}).values():
            with contextlib.suppress(Exception):  # Redis away: the group entry expires
                await self.channel_layer.group_discard(group, self.channel_name)

    async def _join(self) -> None:
        for group in self.streams.values():
            await self.channel_layer.group_add(group, self.channel_name)

    async def send_json(self, content: dict[str, Any]) -> None:
        await self.send(text_data=encode(content))

    async def send_snapshot(self, reason: str) -> None:
        # Counters first, then the rows: a number read here belongs to a change already
        # committed, so the rows read afterwards contain it.
        epoch, current = await sync_to_async(sequence_current, thread_sensitive=False)(self.streams.values())
        shared = await shared_tenant_reads.get(self.tenant, epoch, current[self.streams["tenant"]])
        own = await in_schema(self.tenant.schema_name, member_part, tenant=self.tenant, user=self.user)
        snapshot = {**shared, **own}
        self.epoch = epoch
        self.last_seq = {short: current[group] for short, group in self.streams.items()}
        await self.send_json({"type": "snapshot", "reason": reason, "seq": dict(self.last_seq), **snapshot})

    # --- from the channel layer (saas.broadcast) ---------------------------------------------

    async def realtime_message(self, event: dict[str, Any]) -> None:
        if self.closing:
            return
        short = next((s for s, group in self.streams.items() if group == event.get("stream")), None)
        message = event.get("message") or {}
        if short is None or message.get("type") not in SERVER_MESSAGE_TYPES:
            logger.error(
                "realtime: unexpected layer message", stream=event.get("stream"), type=message.get("type")
            )
            return
        # The push continues the trace of the change that caused it (saas.broadcast).
        with span_in("realtime.push", event, **{"realtime.stream": short, "message.type": message["type"]}):
            await self._deliver(short, event, message)

    async def _deliver(self, short: str, event: dict[str, Any], message: dict[str, Any]) -> None:
        seq = int(event["seq"])
        last = self.last_seq.get(short, 0)
        if event.get("epoch") != self.epoch:
            # Numbered after Redis lost the counters: this socket's numbers mean nothing now.
            logger.info("realtime: new epoch, sending a snapshot", stream=event["stream"])
            await self.send_snapshot("restart")
        elif seq <= last:
            return  # already in the snapshot this socket was sent
        elif seq > last + 1:
            logger.info(
                "realtime: gap, sending a snapshot", stream=event["stream"], expected=last + 1, got=seq
            )
            await self.send_snapshot("gap")
        else:
            self.last_seq[short] = seq
            await self.send(text_data=encoded_frames.get(event, short, message))
        if message["type"] == SESSION_CLOSED:
            self.closing = True
            await self.close(code=CLOSE_NOT_A_MEMBER)

    async def _watch(self) -> None:
        interval = settings.REALTIME_RESYNC_SECONDS
        # The counters at the previous check. A number given out then has had a whole interval
        # to arrive: only one still missing now was lost. Comparing with the counters of this
        # very moment instead took every message still on its way for a loss, and under load
        # every socket re-read the snapshot at once (bench/realtime.py: 500 of 500 sockets).
        previous: dict[str, int] | None = None
        while True:
            await asyncio.sleep(interval)
            try:
                await self._join()  # refreshes group expiry; re-creates groups a restart lost
                epoch, current = await sync_to_async(sequence_current, thread_sensitive=False)(
                    self.streams.values()
                )
            except (redis.RedisError, OSError) as error:  # an outage: one line, no traceback
                logger.warning("realtime: resync check failed", error=f"{type(error).__name__}: {error}")
                previous = None
                continue
            except Exception:
                logger.warning("realtime: resync check failed", exc_info=True)
                previous = None
                continue
            if epoch != self.epoch:
                await self.send_snapshot("restart")
            elif previous is not None and any(
                self.last_seq.get(short, 0) < previous[group] for short, group in self.streams.items()
            ):
                await self.send_snapshot("drift")
            previous = current

    async def layer_unavailable(self, event: dict[str, Any]) -> None:
        # The pub/sub layer lost its Redis (realtime.layers logs it once for the process): this
        # socket would hear nothing more, so it is closed and the page reconnects with backoff.
        if self.closing:
            return
        self.closing = True
        await self.close(code=CLOSE_LAYER_UNAVAILABLE)

    # --- from the client ---------------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        raw = text_data if text_data is not None else bytes_data or b""
        size = len(raw.encode() if isinstance(raw, str) else raw)
        if size > settings.REALTIME_MAX_FRAME_BYTES:
            return await self.send_json({"type": "error", "error": "too_large"})
        if text_data is None:
            return await self.send_json({"type": "error", "error": "malformed"})
        try:
            frame = json.loads(text_data)
        except ValueError:
            return await self.send_json({"type": "error", "error": "malformed"})
        kind = frame.get("type") if isinstance(frame, dict) else None
        if kind == "ping":
            return await self.send_json({"type": "pong"})
        if kind == "resync":
            now = time.monotonic()
            if now - self.last_resync_request < RESYNC_MIN_INTERVAL_SECONDS:
                return await self.send_json({"type": "error", "error": "too_many_resyncs"})
            self.last_resync_request = now
            return await self.send_snapshot("requested")
        return await self.send_json({"type": "error", "error": "unknown_type"})

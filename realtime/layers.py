"""The channel layer: channels-redis's pub/sub layer, told to say when its Redis is away.

Pub/sub fans a message out once per server process (one PUBLISH, each process hands it to
its own sockets) where the core layer pushes one copy per socket onto Redis lists:
bench/realtime.py, 500 sockets, p95 89 ms against 170 ms (docs/benchmarks.md). Where it
falls short is an outage. Its receive task catches every error, logs a traceback and tries
again a second later, for as long as Redis is away; the sockets it serves never hear of it
and stay open, deaf. Three small overrides make the outage what it is with the core layer:

- the receive task logs one warning when the connection is lost (and one info line when it
  is back), and hands every socket of the process a `layer.unavailable` message, on which
  the consumer closes with 1013 so the page reconnects with backoff and re-reads;
- an unsubscribe that fails because Redis is away (a socket closing) is not a traceback; the
  subscription is forgotten so that the reconnect does not restore it;
- a channel whose subscribe failed (a handshake during the outage) is not left behind.

redis-py's PubSub re-subscribes what it still holds when it reconnects, so once Redis is
back the process's groups are live again without anything here.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import structlog
from channels_redis.pubsub import RedisPubSubChannelLayer, RedisPubSubLoopLayer, RedisSingleShardConnection
from redis.exceptions import RedisError

logger = structlog.get_logger(__name__)

# The message every local socket gets when its process loses the layer's Redis.
LAYER_UNAVAILABLE = "layer.unavailable"
OUTAGE_ERRORS = (RedisError, OSError)


def describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


class OutageAwareShard(RedisSingleShardConnection):
    async def _do_receiving(self) -> None:
        lost_at: float | None = None
        while True:
            try:
                if self._pubsub and self._pubsub.subscribed:
                    message = await self._pubsub.get_message(ignore_subscribe_messages=True, timeout=0.1)
                    if lost_at is not None:
                        down = round(time.monotonic() - lost_at, 1)
                        logger.info("realtime: channel layer reachable again", down_seconds=down)
                        lost_at = None
                    self._receive_message(message)
                else:
                    await asyncio.sleep(0.1)
            except (asyncio.CancelledError, GeneratorExit):
                raise
            except OUTAGE_ERRORS as error:
                if lost_at is None:
                    lost_at = time.monotonic()
                    sockets = self._tell_local_channels()
                    logger.warning(
                        "realtime: channel layer unavailable, closing the sockets",
                        error=describe(error), sockets=sockets,
                    )  # fmt: skip
                await asyncio.sleep(1)
            except Exception:
                logger.exception("realtime: channel layer receive failed")
                await asyncio.sleep(1)

    def _tell_local_channels(self) -> int:
        layer = self.channel_layer
        data = layer.channel_layer.serialize({"type": LAYER_UNAVAILABLE})
        for queue in layer.channels.values():
            queue.put_nowait(data)
        return len(layer.channels)

    async def unsubscribe(self, channel: str) -> None:
        try:
            await super().unsubscribe(channel)
        except OUTAGE_ERRORS:
            # Redis is away and forgot this subscription with the connection; forget it here too,
            # or the reconnect would subscribe it again.
            self._subscribed_to.discard(channel)
            if self._pubsub is not None:
                self._pubsub.channels.pop(channel, None)
                self._pubsub.channels.pop(channel.encode(), None)


class OutageAwareLoopLayer(RedisPubSubLoopLayer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        shards: list[Any] = self._shards  # type: ignore[has-type]  # set by the library untyped
        self._shards = [OutageAwareShard(shard.host, self) for shard in shards]

    async def _subscribe_to_channel(self, channel: str) -> None:
        try:
            await super()._subscribe_to_channel(channel)
        except BaseException:
            self.channels.pop(channel, None)
            raise


class PubSubChannelLayer(RedisPubSubChannelLayer):
    """`RedisPubSubChannelLayer` whose per-loop layers are the outage-aware ones above."""

    def _get_layer(self) -> RedisPubSubLoopLayer:
        loop = asyncio.get_running_loop()
        layer = self._layers.get(loop)
        if layer is None:
            layer = super()._get_layer()  # registers the loop's close hook
            if not isinstance(layer, OutageAwareLoopLayer):
                layer = OutageAwareLoopLayer(*self._args, **self._kwargs, channel_layer=self)
                self._layers[loop] = layer
        return layer

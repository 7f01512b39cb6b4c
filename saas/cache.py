"""The cache backend: Django's Redis cache that treats Redis being away as a cache miss.

Everything we keep in the cache can be recomputed or read again from PostgreSQL: sessions
(`cached_db` falls back to the database on a miss), allauth's rate-limit history, resolved hosts.
Django's RedisCache raises on a dead Redis, so a Redis restart turned every sign-up and login into
a 500 (tests/faults/test_redis_stopped.py). Here a read misses, a write is dropped and `add`
says it succeeded (allauth's rate-limit lock loops on `add` until it is true), each with one
warning line per outage rather than per call; a failed delete is logged the same way. The
sessions' alias uses `SessionRedisCache`, whose delete still raises: a logout or a revoked
session whose cache entry could not be removed must not come back when Redis does. The price:
while Redis is away allauth's rate limits do not count (they fail open); the API's own rate
limit (api/ratelimits.py) talks to Redis itself and is not affected by this class.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import redis
import structlog
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache

logger = structlog.get_logger(__name__)

# Seconds between two "cache unavailable" lines of one process.
WARN_EVERY_SECONDS = 30.0
REDIS_ERRORS: tuple[type[BaseException], ...] = (redis.RedisError, OSError)


class ResilientRedisCache(RedisCache):
    _warned_at = 0.0
    _warn_lock = threading.Lock()

    def _unavailable(self, operation: str, error: BaseException) -> None:
        now = time.monotonic()
        with self._warn_lock:
            if now - ResilientRedisCache._warned_at < WARN_EVERY_SECONDS:
                return
            ResilientRedisCache._warned_at = now
        logger.warning("cache unavailable", operation=operation, error=f"{type(error).__name__}: {error}")

    def add(self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        try:
            return super().add(key, value, timeout, version)
        except REDIS_ERRORS as error:
            self._unavailable("add", error)
            return True

    def get(self, key: Any, default: Any = None, version: int | None = None) -> Any:
        try:
            return super().get(key, default, version)
        except REDIS_ERRORS as error:
            self._unavailable("get", error)
            return default

    def set(self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> None:
        try:
            super().set(key, value, timeout, version)
        except REDIS_ERRORS as error:
            self._unavailable("set", error)

    def touch(self, key: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        try:
            return super().touch(key, timeout, version)
        except REDIS_ERRORS as error:
            self._unavailable("touch", error)
            return False

    def delete(self, key: Any, version: int | None = None) -> bool:
        try:
            return super().delete(key, version)
        except REDIS_ERRORS as error:
            self._unavailable("delete", error)
            return False

    def get_many(self, keys: Any, version: int | None = None) -> dict[Any, Any]:
        try:
            return super().get_many(keys, version)
        except REDIS_ERRORS as error:
            self._unavailable("get_many", error)
            return {}

    def has_key(self, key: Any, version: int | None = None) -> bool:
        try:
            return super().has_key(key, version)
        except REDIS_ERRORS as error:
            self._unavailable("has_key", error)
            return False

    def set_many(
        self, data: dict[Any, Any], timeout: Any = DEFAULT_TIMEOUT, version: int | None = None
    ) -> list[Any]:
        try:
            return super().set_many(data, timeout, version)
        except REDIS_ERRORS as error:
            self._unavailable("set_many", error)
            return list(data)


class SessionRedisCache(ResilientRedisCache):
    """The sessions' cache: as above, but a delete that fails raises (a logout must stick)."""

    def delete(self, key: Any, version: int | None = None) -> bool:
        return RedisCache.delete(self, key, version)

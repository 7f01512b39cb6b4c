"""One Redis connection pool per process for the API's counters and idempotency records."""

from __future__ import annotations

import functools

import redis
from django.conf import settings


@functools.cache
def api_redis() -> redis.Redis:
    return redis.Redis.from_url(
        settings.REDIS_URL,
        socket_connect_timeout=settings.CACHES["default"]["OPTIONS"]["socket_connect_timeout"],
        socket_timeout=settings.CACHES["default"]["OPTIONS"]["socket_timeout"],
    )

"""saas/cache.py against a Redis that is not there: misses and dropped writes, one warning,
except the sessions' delete, which must raise (a logout may not come back with Redis)."""

from __future__ import annotations

import pytest
import redis

from devtools.processes import free_port
from saas import cache as cache_module
from saas.cache import ResilientRedisCache, SessionRedisCache

OPTIONS = {"OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2}}


@pytest.fixture
def nowhere() -> str:
    return f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there


def test_a_dead_redis_is_a_miss_and_writes_are_dropped(nowhere, monkeypatch):
    monkeypatch.setattr(ResilientRedisCache, "_warned_at", 0.0)
    backend = ResilientRedisCache(nowhere, OPTIONS)
    assert backend.get("k", "fallback") == "fallback"
    assert backend.get_many(["a", "b"]) == {}
    assert backend.has_key("k") is False
    backend.set("k", "v")
    assert backend.add("lock", True) is True  # allauth's rate-limit lock loops until add is true
    assert backend.delete("lock") is False
    assert backend.set_many({"a": 1}) == ["a"]
    assert cache_module.ResilientRedisCache._warned_at > 0  # one warning for the outage


def test_the_sessions_cache_refuses_to_forget_a_delete(nowhere):
    backend = SessionRedisCache(nowhere, OPTIONS)
    assert backend.get("session") is None
    with pytest.raises(redis.ConnectionError):
        backend.delete("session")

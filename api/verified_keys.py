"""Keys verified recently, remembered per process and re-checked against Redis on every request.

Looking a key up is one SQL statement; bench/api.py counted it as one of the API's three round
trips per request against the plain-DRF peer's one (docs/benchmarks.md, API). Every key request
makes a Redis round trip anyway, for the rate limits, so the check that a remembered key is
still good rides on it: the rate-limit script also returns the key generation of the
organization (api.ratelimits), and a remembered key is used only if it was verified under that
same generation.

The generation is a random token per organization (`api:keys:<tenant id>`), replaced on commit
whenever something changes that can refuse a key or change what it may do: the key itself, a
membership of the organization, the account of one of its members (api/receivers.py). A
revocation in any process is seen by every process at its next request. The generation is read
before the key's row, so a change that commits between the two replaces a generation the row
was remembered under. A random token, not a counter: a Redis that restarts empty makes fresh
tokens, never one a process remembers.

Limits: an entry is looked up again after API_KEY_CACHE_SECONDS whatever the generation says
(the backstop for changes made without the models' signals: `QuerySet.update()`, SQL by hand);
when Redis cannot answer, nothing remembered is used; 0 seconds turns the memory off.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import redis
import structlog
from django.conf import settings

from api.ratelimits import generation_token_new
from api.redis_client import api_redis
from api.selectors import KeyRow

log = structlog.get_logger(__name__)

MAX_ENTRIES = 10_000


def generation_key(tenant_id: int) -> str:
    return f"api:keys:{tenant_id}"


@dataclass
class Remembered:
    row: KeyRow
    tenant_id: int
    key_id: int
    generation: str
    verified_at: float
    # Kept up to date by the requests that record the key's use (api_key_mark_used).
    last_used_at: datetime | None


class VerifiedKeys:
    """Key digest -> the row an accepted key was verified with, bounded, oldest use dropped first."""

    def __init__(self) -> None:
        self._entries: OrderedDict[str, Remembered] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, digest: str) -> Remembered | None:
        with self._lock:
            entry = self._entries.get(digest)
            if entry is None:
                return None
            if time.monotonic() - entry.verified_at >= settings.API_KEY_CACHE_SECONDS:
                del self._entries[digest]
                return None
            self._entries.move_to_end(digest)
            return entry

    def remember(self, digest: str, entry: Remembered) -> None:
        if settings.API_KEY_CACHE_SECONDS <= 0:
            return
        with self._lock:
            self._entries[digest] = entry
            self._entries.move_to_end(digest)
            while len(self._entries) > MAX_ENTRIES:
                self._entries.popitem(last=False)

    def forget(self, digest: str) -> None:
        with self._lock:
            self._entries.pop(digest, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


verified_keys = VerifiedKeys()


def key_generations_replace(tenant_ids: Iterable[int]) -> None:
    """Make every process look the keys of these organizations up again at their next request."""
    keys = [generation_key(tenant_id) for tenant_id in set(tenant_ids)]
    if not keys:
        return
    try:
        with api_redis().pipeline(transaction=False) as pipeline:
            for key in keys:
                pipeline.set(key, generation_token_new())
            pipeline.execute()
    except redis.RedisError:
        # The change is committed already; failing here would fail its caller after the fact.
        # Other processes hold their entries until API_KEY_CACHE_SECONDS, this one drops its own.
        log.error("api keys: could not tell other processes of a change", exc_info=True)
        verified_keys.clear()

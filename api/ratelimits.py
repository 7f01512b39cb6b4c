"""Rate limits per caller (key, or signed-in person) and per organization, atomic under concurrency.

DRF's throttles read a list from the cache, append and write it back: two requests at once
both read the same list and both pass (its issues #5181 and #8127). Here each counter is one
Redis INCR inside a Lua script, which Redis runs as a single step: of N concurrent requests
exactly `limit` get through a window, whatever the interleaving.

Fixed windows: the first request of a window starts its clock (EXPIRE), so a counter never
outlives its window. Both counters are counted on every request; the tighter one decides,
and its figures are the `RateLimit-*` headers (IETF draft, RateLimit header fields).
A Redis outage lets requests through (logged): the limits protect capacity, they are not
an access rule.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import redis
import structlog
from django.conf import settings

from api.redis_client import api_redis

log = structlog.get_logger(__name__)

# ARGV[1]: how many counters; KEYS: the counters, then optionally one organization's key
# generation (api.verified_keys); ARGV: the counters' window lengths in seconds, then a fresh
# generation token for a generation key that does not exist yet. Returns count, ttl per
# counter, then the generation when one was asked for.
_COUNT = """
local counters = tonumber(ARGV[1])
local result = {}
for i = 1, counters do
  local key = KEYS[i]
  local count = redis.call('INCR', key)
  local ttl = redis.call('TTL', key)
  if ttl < 0 then
    redis.call('EXPIRE', key, ARGV[i + 1])
    ttl = tonumber(ARGV[i + 1])
  end
  result[#result + 1] = count
  result[#result + 1] = ttl
end
if #KEYS > counters then
  local generation = redis.call('GET', KEYS[counters + 1])
  if not generation then
    generation = ARGV[counters + 2]
    redis.call('SET', KEYS[counters + 1], generation)
  end
  result[#result + 1] = generation
end
return result
"""


@dataclass(frozen=True)
class Limit:
    limit: int
    remaining: int
    reset_seconds: int
    # The organization's key generation, read in the same step when it was asked for.
    key_generation: str | None = None

    @property
    def exceeded(self) -> bool:
        return self.remaining < 0

    def headers(self) -> dict[str, str]:
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(max(self.remaining, 0)),
            "RateLimit-Reset": str(self.reset_seconds),
        }


def parse_rate(rate: str) -> tuple[int, int]:
    """'600/60' -> (600 requests, 60 seconds)."""
    count, _, seconds = rate.partition("/")
    return int(count), int(seconds or 60)


def rate_limit_hit(*, caller: str, tenant_schema: str, generation_key: str | None = None) -> Limit | None:
    """Count one request of `caller` in `tenant_schema`; the tighter of the two limits after it.

    With `generation_key` (api.verified_keys), the same Redis round trip also reads that key
    generation, returned as the limit's `key_generation`.
    """
    limits = [
        (f"api:rl:{tenant_schema}:{caller}", *parse_rate(settings.API_RATE_LIMIT_PER_CALLER)),
        (f"api:rl:{tenant_schema}", *parse_rate(settings.API_RATE_LIMIT_PER_TENANT)),
    ]
    keys = [key for key, _, _ in limits]
    arguments: list[int | str] = [len(limits), *[window for _, _, window in limits]]
    if generation_key is not None:
        keys.append(generation_key)
        arguments.append(generation_token_new())
    try:
        counts = api_redis().eval(_COUNT, len(keys), *keys, *arguments)
    except redis.RedisError as error:
        log.warning("api.rate_limit_unavailable", error=str(error))
        return None
    generation = counts[2 * len(limits)].decode() if generation_key is not None else None
    results = [
        Limit(
            limit=limit,
            remaining=limit - int(counts[2 * i]),
            reset_seconds=max(int(counts[2 * i + 1]), 1),
            key_generation=generation,
        )
        for i, (_, limit, _) in enumerate(limits)
    ]
    return min(results, key=lambda result: (result.remaining, -result.reset_seconds))


def generation_read(generation_key: str) -> str | None:
    """The generation at `generation_key` (made now if absent), or None when Redis cannot answer."""
    try:
        (generation,) = api_redis().eval(_COUNT, 1, generation_key, 0, generation_token_new())
    except redis.RedisError as error:
        log.warning("api.key_generation_unavailable", error=str(error))
        return None
    return generation.decode()


def generation_token_new() -> str:
    """A generation nobody has seen: random, so a Redis that restarts empty never repeats one."""
    return secrets.token_hex(8)

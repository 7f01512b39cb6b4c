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

from dataclasses import dataclass

import redis
import structlog
from django.conf import settings

from api.redis_client import api_redis

log = structlog.get_logger(__name__)

# KEYS: counters; ARGV: their window lengths in seconds. Returns count, ttl per counter.
_COUNT = """
local result = {}
for i, key in ipairs(KEYS) do
  local count = redis.call('INCR', key)
  local ttl = redis.call('TTL', key)
  if ttl < 0 then
    redis.call('EXPIRE', key, ARGV[i])
    ttl = tonumber(ARGV[i])
  end
  result[#result + 1] = count
  result[#result + 1] = ttl
end
return result
"""


@dataclass(frozen=True)
class Limit:
    limit: int
    remaining: int
    reset_seconds: int

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


def rate_limit_hit(*, caller: str, tenant_schema: str) -> Limit | None:
    """Count one request of `caller` in `tenant_schema`; the tighter of the two limits after it."""
    limits = [
        (f"api:rl:{tenant_schema}:{caller}", *parse_rate(settings.API_RATE_LIMIT_PER_CALLER)),
        (f"api:rl:{tenant_schema}", *parse_rate(settings.API_RATE_LIMIT_PER_TENANT)),
    ]
    try:
        counts = api_redis().eval(
            _COUNT, len(limits), *[key for key, _, _ in limits], *[window for _, _, window in limits]
        )
    except redis.RedisError as error:
        log.warning("api.rate_limit_unavailable", error=str(error))
        return None
    results = [
        Limit(limit=limit, remaining=limit - int(counts[2 * i]), reset_seconds=max(int(counts[2 * i + 1]), 1))
        for i, (_, limit, _) in enumerate(limits)
    ]
    return min(results, key=lambda result: (result.remaining, -result.reset_seconds))

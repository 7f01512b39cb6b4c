"""`Idempotency-Key` on POST, with Stripe's semantics.

- The first request with a key runs; its response (status, body, Location/ETag) is kept for
  24 hours and every later request with the same key and the same body gets that response
  again, marked `Idempotent-Replayed: true`.
- The same key with a different body (or path) is refused with 422: the key was reused.
- Concurrent duplicates run once. The first to arrive takes the key with `SET NX` (an
  in-flight record with a lease); the others wait for the record to turn into a response,
  up to API_IDEMPOTENCY_WAIT_SECONDS, then get 409 and can retry for the replay.
  django-idempotency-key checks for a stored response before running, so two requests that
  arrive together both run (its open PR #61).
- Keys are scoped to the caller (key or person) and the organization: another caller's
  key never replays someone else's response.
- A request refused before it ran (authentication, permission, rate limit) stores nothing;
  a 5xx or a crash releases the key so a retry runs afresh, as Stripe does for errors that
  happened before anything was done.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

import redis
from django.conf import settings
from rest_framework import exceptions, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder

from api.redis_client import api_redis

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
KEPT_HEADERS = ("Location", "ETag")

# Replace the in-flight record with the final one only if it is still ours (our lease may have
# run out and another request may own the key now).
_FINISH = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  if ARGV[2] == '' then
    redis.call('DEL', KEYS[1])
  else
    redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
  end
  return 1
end
return 0
"""


class IdempotencyKeyReused(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = "This Idempotency-Key was used with a different request."
    default_code = "idempotency_key_reused"


class IdempotencyInFlight(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "A request with this Idempotency-Key is still being processed; retry shortly."
    default_code = "idempotency_in_flight"


class IdempotencyUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "Idempotent requests cannot be handled right now; retry shortly."
    default_code = "idempotency_unavailable"


class Replay(Exception):
    """Raised instead of running the view: answer with the stored response."""

    def __init__(self, response: Response) -> None:
        super().__init__("replay")
        self.response = response


@dataclass
class Claim:
    redis_key: str
    in_flight: str


def _fingerprint(request: Request) -> str:
    body = request._request.body
    try:  # the same JSON written with other spacing or key order is the same request
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except ValueError:
        canonical = body
    return hashlib.sha256(
        str(request.method).encode() + b" " + request.path.encode() + b"\n" + canonical
    ).hexdigest()


def _replay(record: dict[str, Any]) -> Response:
    response = Response(json.loads(record["data"]) if record["data"] else None, status=record["status"])
    for name, value in record["headers"].items():
        response[name] = value
    response[REPLAYED_HEADER] = "true"
    return response


def idempotency_claim(request: Request, *, caller: str, tenant_schema: str) -> Claim | None:
    """For a POST with an Idempotency-Key: the claim to run it, or Replay / 409 / 422 raised."""
    key = request.headers.get(HEADER)
    if key is None or request.method != "POST":
        return None
    if not 1 <= len(key) <= 255 or not all("!" <= character <= "~" for character in key):
        raise exceptions.ValidationError({HEADER: ["Use 1 to 255 visible ASCII characters."]}, code="invalid")
    fingerprint = _fingerprint(request)
    redis_key = f"api:idem:{tenant_schema}:{caller}:{hashlib.sha256(key.encode()).hexdigest()}"
    in_flight = json.dumps({"state": "running", "fingerprint": fingerprint, "lease": secrets.token_hex(8)})
    client = api_redis()
    deadline = time.monotonic() + settings.API_IDEMPOTENCY_WAIT_SECONDS
    try:
        while True:
            if client.set(redis_key, in_flight, nx=True, ex=settings.API_IDEMPOTENCY_LEASE_SECONDS):
                return Claim(redis_key=redis_key, in_flight=in_flight)
            stored = client.get(redis_key)
            if stored is None:  # released (the first attempt failed) between our two calls
                continue
            record = json.loads(stored)
            if record["fingerprint"] != fingerprint:
                raise IdempotencyKeyReused()
            if record["state"] == "done":
                raise Replay(_replay(record))
            if time.monotonic() > deadline:
                raise IdempotencyInFlight()
            time.sleep(0.02)
    except redis.RedisError as error:
        raise IdempotencyUnavailable() from error


def idempotency_finish(claim: Claim, response: Response | None) -> None:
    """Keep the response for replays (24 h), or release the key after a 5xx or a crash."""
    final = ""
    if response is not None and response.status_code < 500:
        fingerprint = json.loads(claim.in_flight)["fingerprint"]
        final = json.dumps(
            {
                "state": "done",
                "fingerprint": fingerprint,
                "status": response.status_code,
                "data": json.dumps(response.data, cls=JSONEncoder) if response.data is not None else "",
                "headers": {name: response[name] for name in KEPT_HEADERS if response.has_header(name)},
            }
        )
    api_redis().eval(
        _FINISH, 1, claim.redis_key, claim.in_flight, final, settings.API_IDEMPOTENCY_TTL_SECONDS
    )
